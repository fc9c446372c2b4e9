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
import { listPersonDeliveries } from '../../users/deliveries.ts';
import { resendInvitation } from '../../users/invitations.ts';
import { findAccountUser, type Role, type User } from '../../users/users.ts';
import { requireSession } from '../plugins/authentication.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { answerRetryAfter, resendInvitationError, sendDisableLinkError, userChangeError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import { describeRole } from '../views/descriptions.ts';
import type { LayoutUser } from '../views/layout.ts';
import { renderDeactivateConfirmation, renderUserAdminPage, userAdminPath, type UserAdminView } from '../views/user-admin.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { listConfirmedMethods } from '../../factors/registry.ts';

const ParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('user')]);

type Messages = Pick<UserAdminView, 'notice' | 'alert'>;

function describeRoleChange(before: User, after: User): string {
  if (before.role === after.role) return `${after.name} already has the role ${describeRole(after.role)}.`;
  return `${after.name} now has the role ${describeRole(after.role)}.`;
}

function describeDeactivation(before: User, after: User): string {
  return before.active === 1 ? `${after.name} is deactivated and has been logged out everywhere.` : `${after.name} was already deactivated.`;
}

function describeReactivation(before: User, after: User): string {
  return before.active === 1 ? `${after.name} is already active.` : `${after.name} is active again and can log in.`;
}

export async function userAdminPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  async function sendUserPage(reply: FastifyReply, status: number, layoutUser: LayoutUser, user: User, messages: Messages = {}): Promise<FastifyReply> {
    const session = requireSession(reply.request);
    const recent = isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs);
    const deliveries = await listPersonDeliveries(deps.db, user.id);
    return sendPage(reply, status, renderUserAdminPage(layoutUser, { user, methods: await listConfirmedMethods(deps.db, user), recentlyAuthenticated: recent, isSelf: user.id === session.userId, deliveries, ...messages }));
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
    const outcome = await changeUser(deps.db, deps.clock, deps.delivery.queue, { userId: session.userId, accountId: session.accountId }, target.id, change, originOf(request));
    if (!outcome.ok) {
      const error = userChangeError(outcome);
      if (error.code === 'not_found') throw error;
      return sendUserPage(reply, error.status, layoutUser, target, { alert: `${error.message} Make another user an administrator first.` });
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

  // The confirmation step: a page that changes nothing; its form posts the deactivation below.
  app.get('/settings/users/:id/deactivate', { config: { role: 'admin' }, schema: { hide: true, params: ParamsSchema } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    const target = await targetOf(request, session);
    if (target.active !== 1 || target.id === session.userId) return reply.redirect(userAdminPath(target.id), 303);
    return sendPage(reply, 200, renderDeactivateConfirmation(layoutUser, target));
  });

  app.post(
    '/settings/users/:id/reactivate',
    { config: { role: 'admin' }, schema: { hide: true, params: ParamsSchema, body: formBodySchema({}) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const target = await targetOf(request, session);
      if (formProblem(request)) return sendUserPage(reply, 400, layoutUser, target, { alert: MALFORMED_FORM_MESSAGE });
      return applyChange(request, reply, session, layoutUser, target, { active: true }, describeReactivation);
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
      const error = sendDisableLinkError(outcome);
      if (error.code === 'not_found') throw error;
      answerRetryAfter(reply, error);
      return sendUserPage(reply, error.status, layoutUser, target, { alert: error.message });
    },
  );

  app.post(
    '/settings/users/:id/invitation',
    { config: { role: 'admin' }, schema: { hide: true, params: ParamsSchema, body: formBodySchema({}) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const target = await targetOf(request, session);
      if (formProblem(request)) return sendUserPage(reply, 400, layoutUser, target, { alert: MALFORMED_FORM_MESSAGE });
      const inviter = { userId: session.userId, name: session.name, accountId: session.accountId, accountName: session.accountName };
      const outcome = await resendInvitation(deps, inviter, target.id, originOf(request));
      if (outcome.ok) return sendUserPage(reply, 202, layoutUser, target, { notice: `We e-mailed ${target.email} a new invitation. The earlier link no longer works.` });
      const error = resendInvitationError(outcome);
      if (error.code === 'not_found') throw error;
      answerRetryAfter(reply, error);
      return sendUserPage(reply, error.status, layoutUser, (await findAccountUser(deps.db, session.accountId, target.id)) ?? target, { alert: error.message });
    },
  );
}
