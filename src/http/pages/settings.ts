/**
 * Settings > Users for administrators (PRODUCT.md §2.1, §2.6): the account's users, each
 * linking to the admin's view of that user (user-admin.ts), and the invitation form. The guard
 * admits only admins (config.role); every query is scoped to the session's account, so an
 * admin never sees another account's users whatever the URL says.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { SessionContext } from '../../sessions/sessions.ts';
import { inviteUser } from '../../users/invitations.ts';
import { countUsersWithoutSecondFactor, listAccountUsersWithFactors } from '../../users/listing.ts';
import { EmailSchema, NameSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { answerRetryAfter, invitationError, listPageError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import type { LayoutUser } from '../views/layout.ts';
import { renderUsersPage, USERS_CSV_PATH, USERS_PATH, type InviteState } from '../views/users.ts';
import { readAffectedScope } from '../../enforcement/staged-enforcement.ts';
import { requireSession } from '../plugins/authentication.ts';
import { Readable } from 'node:stream';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { confirmedMethodsOf } from '../../factors/registry.ts';

const USERS_PER_PAGE = 50;
const CSV_BATCH = 1000;
const TwoFactorFilter = Type.Optional(Type.Literal('missing'));

/**
 * One CSV record (RFC 4180). A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR)
 * gets a leading apostrophe: names are typed by users.
 */
function csvLine(cells: string[]): string {
  return `${cells
    .map((cell) => {
      const safe = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
      return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
    })
    .join(',')}\r\n`;
}
const INVITE_FIELDS = ['email', 'name', 'role'] as const;

const inviteFieldMessages: Record<string, string> = {
  email: 'Enter a valid email address.',
  name: 'Enter the name of the person you invite.',
  role: 'Choose a role: Administrator or User.',
};

export async function settingsPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const invitationDays = Math.round(deps.config.policy.invitationLinkMs / 86_400_000);

  async function sendUsersPage(reply: FastifyReply, status: number, session: SessionContext, layoutUser: LayoutUser, cursor: string | null, invite: InviteState, search = '', missingOnly = false): Promise<FastifyReply> {
    const lackingTwoFactor = missingOnly ? await readAffectedScope(deps.db, session.accountId) : null;
    const page = await listAccountUsersWithFactors(deps.db, session.accountId, { cursor, emailPrefix: search || null, limit: USERS_PER_PAGE, lackingTwoFactor });
    if (!page.ok) throw listPageError(page, 'users page');
    const rows = page.users.map((user) => ({ user, methods: confirmedMethodsOf(user) }));
    // While enforcement is on, admins need to see who it is still waiting for.
    const waiting = session.accountEnforces2FA ? await countUsersWithoutSecondFactor(deps.db, session.accountId) : null;
    return sendPage(reply, status, renderUsersPage(layoutUser, { rows, search, nextCursor: page.nextCursor, waiting, invite, invitationDays, missingOnly }));
  }

  app.get(
    USERS_PATH,
    { config: { role: 'admin' }, schema: { hide: true, querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 400 })), email: Type.Optional(Type.String({ maxLength: 254 })), twoFactor: TwoFactorFilter }, { additionalProperties: false }) } },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const { cursor, email, twoFactor } = request.query as { cursor?: string; email?: string; twoFactor?: 'missing' };
      return sendUsersPage(reply, 200, session, layoutUser, cursor ?? null, { values: {}, error: null, confirmation: null }, email?.trim() ?? '', twoFactor === 'missing');
    },
  );

  // The users staged enforcement affects, as CSV (PRODUCT.md §2.10): streamed batch by batch, so
  // memory stays flat for an account of 100,000 users.
  app.get(
    USERS_CSV_PATH,
    { config: { role: 'admin' }, schema: { hide: true, querystring: Type.Object({ twoFactor: TwoFactorFilter }, { additionalProperties: false }) } },
    async (request, reply) => {
      const session = requireSession(request);
      const { twoFactor } = request.query as { twoFactor?: 'missing' };
      const lackingTwoFactor = twoFactor === 'missing' ? await readAffectedScope(deps.db, session.accountId) : null;
      const db = deps.db;
      async function* lines(): AsyncGenerator<string> {
        yield csvLine(['email', 'name', 'role']);
        let cursor: string | null = null;
        do {
          const page = await listAccountUsersWithFactors(db, session.accountId, { cursor, emailPrefix: null, limit: CSV_BATCH, lackingTwoFactor });
          if (!page.ok) return;
          yield page.users.map((user) => csvLine([user.email, user.name, user.role])).join('');
          cursor = page.nextCursor;
        } while (cursor !== null);
      }
      const name = twoFactor === 'missing' ? 'users-without-2fa.csv' : 'users.csv';
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(lines()));
    },
  );

  app.post(
    USERS_PATH,
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
      if (!outcome.ok) {
        const error = invitationError(outcome);
        answerRetryAfter(reply, error);
        return again(error.status, error.message, error.code === 'email_taken' ? 'email' : undefined);
      }
      return sendUsersPage(reply, 200, session, layoutUser, null, { values: {}, error: null, confirmation: `Invitation sent to ${outcome.user.email}.` });
    },
  );
}
