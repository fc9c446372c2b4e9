/**
 * An administrator's view of one user of their account (PRODUCT.md §2.6): details, 2FA status,
 * changing the role and deactivating. Changes go through changeUser — the same call as
 * PATCH /api/v1/account/users/:id — which keeps the "one active admin" rule and scopes the
 * target to the admin's account. The page's own lookup is scoped the same way, so a user id
 * from another account reads as "not found", exactly like an id that does not exist (no
 * oracle for which ids exist elsewhere).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errorCatalog, HttpError } from '../../errors.ts';
import { sendDisableLink } from '../../factors/disable-link.ts';
import { isRecentlyAuthenticated, type SessionContext } from '../../sessions/sessions.ts';
import { changeUser, type UserChange } from '../../users/administration.ts';
import { findAccountUser, type Role, type User } from '../../users/users.ts';
import { requireSession } from '../plugins/authentication.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { renderPasswordConfirmation } from '../views/password-confirmation.ts';
import { originOf } from '../request-origin.ts';
import { alertMessage, postForm, selectField, statusMessage } from '../views/forms.ts';
import { html, type SafeHTML } from '../views/html.ts';
import { renderSignedInPage, type LayoutUser } from '../views/layout.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { describeMethods, describeRole, formatTime, signedInPage } from './signed-in.ts';

const ParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('user')]);

/**
 * The user with this id in this account, or nothing. (It belongs beside findUserById in
 * src/users/users.ts; it lives here until that module takes it.)
 */
export function userAdminPath(userId: string): string {
  return `/settings/users/${encodeURIComponent(userId)}`;
}

function describeStatus(user: User): string {
  if (user.active !== 1) return 'Deactivated';
  return user.password_hash === null ? 'Invited (has not set a password yet)' : 'Active';
}

interface Messages {
  notice?: string | null;
  alert?: string | null;
}

/**
 * The admin's only lever on another user's 2FA: e-mail THEM a link (PRODUCT.md §2.6). It needs a
 * recent password entry (rule 28), so a stale session sees the password form in its place.
 */
function renderTwoFactorActions(csrfToken: string, user: User, methods: string[], recent: boolean): SafeHTML | '' {
  if (methods.length === 0 || user.active !== 1) return '';
  const path = userAdminPath(user.id);
  if (!recent) {
    return renderPasswordConfirmation({ csrfToken, next: path, headingLevel: 3, reason: `Sending ${user.name} a link to turn off two-factor authentication needs your password again.` });
  }
  return html`<p>If ${user.name} lost the device they use for two-factor authentication, send them a link by e-mail. Only they receive it; it works once, for 24 hours, with their own password. You cannot turn their 2FA off yourself.</p>
${postForm(`${path}/2fa-disable-link`, csrfToken, [], 'Send link to disable 2FA')}`;
}

function renderUserAdmin(csrfToken: string, user: User, methods: string[], messages: Messages, recent: boolean): SafeHTML {
  const path = userAdminPath(user.id);
  const deactivate =
    user.active === 1
      ? html`<p>A deactivated user is logged out everywhere at once and can no longer log in.</p>
${postForm(`${path}/deactivate`, csrfToken, [], 'Deactivate user', 'danger')}`
      : html`<p>This user is deactivated and cannot log in.</p>`;
  return html`<p class="breadcrumb"><a href="/settings/users">Users</a></p>
<h1>${user.name}</h1>
${statusMessage(messages.notice)}
${alertMessage(messages.alert)}
<dl class="details">
<dt>Name</dt><dd>${user.name}</dd>
<dt>Email</dt><dd>${user.email}</dd>
<dt>Role</dt><dd>${describeRole(user.role)}</dd>
<dt>Status</dt><dd>${describeStatus(user)}</dd>
<dt>Last login</dt><dd>${formatTime(user.last_login_at)}</dd>
</dl>
<section class="panel" aria-labelledby="two-factor-heading">
<h2 id="two-factor-heading">Two-Factor Authentication</h2>
<p>Status: <strong class="${methods.length > 0 ? 'status-on' : 'status-off'}">${describeMethods(methods)}</strong></p>
<div id="admin-two-factor-actions">${renderTwoFactorActions(csrfToken, user, methods, recent)}</div>
</section>
<section class="panel" aria-labelledby="role-heading">
<h2 id="role-heading">Change role</h2>
${postForm(`${path}/role`, csrfToken, selectField({ label: 'Role', name: 'role', value: user.role, options: [{ value: 'user', label: 'User' }, { value: 'admin', label: 'Administrator' }] }), 'Change role')}
</section>
<section class="panel" aria-labelledby="deactivate-heading">
<h2 id="deactivate-heading">Deactivate user</h2>
${deactivate}
</section>`;
}

function describeRoleChange(before: User, after: User): string {
  if (before.role === after.role) return `${after.name} already has the role ${describeRole(after.role)}.`;
  return `${after.name} now has the role ${describeRole(after.role)}.`;
}

function describeDeactivation(before: User, after: User): string {
  return before.active === 1 ? `${after.name} is deactivated and has been logged out everywhere.` : `${after.name} was already deactivated.`;
}

export async function userAdminPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps, listMethods } = options;

  async function sendUserPage(reply: FastifyReply, status: number, layoutUser: LayoutUser, user: User, messages: Messages = {}): Promise<FastifyReply> {
    const session = requireSession(reply.request);
    const recent = isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs);
    const main = renderUserAdmin(layoutUser.csrfToken, user, await listMethods(user), messages, recent);
    return sendPage(reply, status, renderSignedInPage(user.name, layoutUser, main));
  }

  /** The target of the URL, or 404 for an id that is malformed, unknown or of another account. */
  async function targetOf(request: FastifyRequest, session: SessionContext): Promise<User> {
    const id = (request.params as { id?: unknown }).id;
    const user = typeof id === 'string' && id.length <= 64 ? await findAccountUser(deps.db, session.accountId, id) : undefined;
    if (!user) throw new HttpError('not_found');
    return user;
  }

  app.get('/settings/users/:id', { config: { role: 'admin' }, schema: { hide: true, params: ParamsSchema } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    return sendUserPage(reply, 200, layoutUser, await targetOf(request, session));
  });

  /**
   * One change through changeUser, answered on the same page. An admin who demotes or
   * deactivates themselves has just lost this page (and with deactivation, their session), so
   * they are sent where they can still go.
   */
  async function applyChange(request: FastifyRequest, reply: FastifyReply, session: SessionContext, layoutUser: LayoutUser, target: User, change: UserChange, describe: (before: User, after: User) => string): Promise<FastifyReply> {
    const outcome = await changeUser(deps.db, deps.clock, { userId: session.userId, accountId: session.accountId }, target.id, change, originOf(request));
    if (!outcome.ok) {
      if (outcome.reason === 'not_found') throw new HttpError('not_found');
      return sendUserPage(reply, errorCatalog.last_admin.status, layoutUser, target, { alert: `${errorCatalog.last_admin.message} Make another user an administrator first.` });
    }
    if (outcome.user.id === session.userId && outcome.user.active !== 1) return reply.redirect('/login', 303);
    if (outcome.user.id === session.userId && outcome.user.role !== 'admin') return reply.redirect('/user', 303);
    return sendUserPage(reply, 200, layoutUser, outcome.user, { notice: describe(target, outcome.user) });
  }

  app.post(
    '/settings/users/:id/role',
    { config: { role: 'admin' }, schema: { hide: true, params: ParamsSchema, body: formBodySchema({ role: RoleSchema }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const target = await targetOf(request, session);
      const problem = formProblem(request);
      if (problem) return sendUserPage(reply, 400, layoutUser, target, { alert: problem.field === 'role' ? 'Choose a role: Administrator or User.' : MALFORMED_FORM_MESSAGE });
      const role = (request.body as { role: Role }).role;
      return applyChange(request, reply, session, layoutUser, target, { role }, describeRoleChange);
    },
  );

  app.post(
    '/settings/users/:id/deactivate',
    { config: { role: 'admin' }, schema: { hide: true, params: ParamsSchema, body: formBodySchema({}) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const target = await targetOf(request, session);
      if (formProblem(request)) return sendUserPage(reply, 400, layoutUser, target, { alert: MALFORMED_FORM_MESSAGE });
      return applyChange(request, reply, session, layoutUser, target, { active: false }, describeDeactivation);
    },
  );

  app.post(
    '/settings/users/:id/2fa-disable-link',
    { config: { role: 'admin' }, schema: { hide: true, params: ParamsSchema, body: formBodySchema({}) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const target = await targetOf(request, session);
      if (formProblem(request)) return sendUserPage(reply, 400, layoutUser, target, { alert: MALFORMED_FORM_MESSAGE });
      if (!isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs)) {
        return sendUserPage(reply, errorCatalog.reauthentication_required.status, layoutUser, target, { alert: errorCatalog.reauthentication_required.message });
      }
      const outcome = await sendDisableLink(deps, { userId: session.userId, accountId: session.accountId, name: session.name }, target.id, originOf(request));
      if (outcome.ok) return sendUserPage(reply, 202, layoutUser, target, { notice: `We e-mailed ${target.email} a link to turn off two-factor authentication. It works once, for 24 hours.` });
      if (outcome.reason === 'rate_limited') {
        reply.header('retry-after', String(outcome.retryAfterSeconds));
        return sendUserPage(reply, 429, layoutUser, target, { alert: 'A link was sent to this user several times in the last hour. Wait before sending another.' });
      }
      if (outcome.reason === 'two_factor_not_enabled') return sendUserPage(reply, 409, layoutUser, target, { alert: errorCatalog.two_factor_not_enabled.message });
      throw new HttpError('not_found');
    },
  );
}
