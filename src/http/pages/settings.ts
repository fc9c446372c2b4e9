/**
 * Settings > Users for administrators (PRODUCT.md §2.1, §2.6): the account's users, each
 * linking to the admin's view of that user (user-admin.ts), and the invitation form. The guard
 * admits only admins (config.role); every query is scoped to the session's account, so an
 * admin never sees another account's users whatever the URL says.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { errorCatalog, HttpError } from '../../errors.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { inviteUser } from '../../users/invitations.ts';
import type { User } from '../../users/users.ts';
import { countUsersWithoutSecondFactor, listAccountUsers } from '../../users/listing.ts';
import { EmailSchema, NameSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import { alertMessage, getForm, inputField, postForm, selectField, statusMessage } from '../views/forms.ts';
import { html, type SafeHTML } from '../views/html.ts';
import { renderSignedInPage, type LayoutUser } from '../views/layout.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { describeMethods, describeRole, formatTime, signedInPage } from './signed-in.ts';
import { listConfirmedMethodsOfUsers } from '../../factors/methods.ts';
import { userAdminPath } from './user-admin.ts';

const USERS_PER_PAGE = 50;
const INVITE_FIELDS = ['email', 'name', 'role'] as const;
type InviteValues = Record<(typeof INVITE_FIELDS)[number], string>;

const inviteFieldMessages: Record<string, string> = {
  email: 'Enter a valid email address.',
  name: 'Enter the name of the person you invite.',
  role: 'Choose a role: Administrator or User.',
};

interface UserRow {
  user: User;
  methods: string[];
}

function renderUserTable(rows: UserRow[], nextHref: string | null): SafeHTML {
  const body = rows.map(
    ({ user, methods }) => html`<tr>
<td><a href="${userAdminPath(user.id)}">${user.email}</a></td>
<td>${user.name}${user.active === 1 ? '' : html` <span class="tag">Deactivated</span>`}${user.password_hash === null ? html` <span class="tag">Invited</span>` : ''}</td>
<td>${describeRole(user.role)}</td>
<td>${describeMethods(methods)}</td>
<td>${formatTime(user.last_login_at)}</td>
</tr>`,
  );
  return html`<div class="table-wrap"><table>
<thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Two-Factor Authentication</th><th scope="col">Last login</th></tr></thead>
<tbody>${body}</tbody>
</table></div>
${nextHref ? html`<p class="pager"><a href="${nextHref}">Next page</a></p>` : ''}`;
}

interface InviteState {
  values: Partial<InviteValues>;
  error: { message: string; field?: string } | null;
  confirmation: string | null;
}

function renderInviteForm(csrfToken: string, state: InviteState, invitationDays: number): SafeHTML {
  const invalid = (field: string) => state.error?.field === field;
  return html`<section class="panel" aria-labelledby="invite-heading">
<h2 id="invite-heading">Invite user</h2>
<p>The person receives an e-mail with a link to choose a password. The link works once, for ${invitationDays} days.</p>
${statusMessage(state.confirmation)}
${alertMessage(state.error?.message)}
${postForm('/settings/users', csrfToken, [
  inputField({ label: 'Email', name: 'email', type: 'email', value: state.values.email, autocomplete: 'off', required: true, maxLength: 254, invalid: invalid('email') }),
  inputField({ label: 'Name', name: 'name', value: state.values.name, autocomplete: 'off', required: true, maxLength: 200, invalid: invalid('name') }),
  selectField({ label: 'Role', name: 'role', value: state.values.role || 'user', options: [{ value: 'user', label: 'User' }, { value: 'admin', label: 'Administrator' }] }),
], 'Invite')}
</section>`;
}

export async function settingsPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const invitationDays = Math.round(deps.config.policy.invitationLinkMs / 86_400_000);

  async function sendUsersPage(reply: FastifyReply, status: number, session: SessionContext, layoutUser: LayoutUser, cursor: string | null, invite: InviteState, search = ''): Promise<FastifyReply> {
    const page = await listAccountUsers(deps.db, session.accountId, { cursor, emailPrefix: search || null, limit: USERS_PER_PAGE });
    if (!page.ok) throw new HttpError('invalid_request', 'This page of users does not exist. Start again from the first page.');
    const methods = await listConfirmedMethodsOfUsers(deps.db, page.users);
    const rows = page.users.map((user) => ({ user, methods: methods.get(user.id) ?? [] }));
    // While enforcement is on, admins need to see who it is still waiting for.
    const waiting = session.accountEnforces2FA ? await countUsersWithoutSecondFactor(deps.db, session.accountId) : null;
    const nextHref = page.nextCursor ? `/settings/users?cursor=${encodeURIComponent(page.nextCursor)}${search ? `&email=${encodeURIComponent(search)}` : ''}` : null;
    const main = html`<h1>Users</h1>
${waiting === null ? '' : html`<p class="notice" role="status">Two-factor authentication is required in this account. ${waiting === 0 ? 'Every active user has set it up.' : `${waiting} active ${waiting === 1 ? 'user has' : 'users have'} not set it up yet; they will be asked to at their next request.`}</p>`}
${getForm('/settings/users', inputField({ label: 'Search by email', name: 'email', id: 'user-search', type: 'text', value: search, maxLength: 254 }), 'Search')}
${renderUserTable(rows, nextHref)}
${renderInviteForm(layoutUser.csrfToken, invite, invitationDays)}`;
    return sendPage(reply, status, renderSignedInPage('Users', layoutUser, main));
  }

  app.get(
    '/settings/users',
    { config: { role: 'admin' }, schema: { hide: true, querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 200 })), email: Type.Optional(Type.String({ maxLength: 254 })) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const { cursor, email } = request.query as { cursor?: string; email?: string };
      return sendUsersPage(reply, 200, session, layoutUser, cursor ?? null, { values: {}, error: null, confirmation: null }, email?.trim() ?? '');
    },
  );

  app.post(
    '/settings/users',
    {
      config: { role: 'admin' },
      schema: { hide: true, body: formBodySchema({ email: EmailSchema, name: NameSchema, role: Type.Union([Type.Literal('admin'), Type.Literal('user')]) }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const values = readFields(request.body, INVITE_FIELDS);
      const again = (status: number, message: string, field?: string) => sendUsersPage(reply, status, session, layoutUser, null, { values, error: { message, field }, confirmation: null });
      const problem = formProblem(request);
      if (problem) return again(400, (problem.field && inviteFieldMessages[problem.field]) || MALFORMED_FORM_MESSAGE, problem.field ?? undefined);
      const role = values.role === 'admin' ? 'admin' : 'user';
      const inviter = { userId: session.userId, name: session.name, accountId: session.accountId, accountName: session.accountName };
      const outcome = await inviteUser(deps, inviter, { email: values.email, name: values.name, role }, originOf(request));
      if (!outcome.ok) return again(errorCatalog.email_taken.status, errorCatalog.email_taken.message, 'email');
      return sendUsersPage(reply, 200, session, layoutUser, null, { values: {}, error: null, confirmation: `Invitation sent to ${outcome.user.email}.` });
    },
  );
}
