/** The account and its users, for administrators (PRODUCT.md §3). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { findAccountById, toPublicAccount } from '../../accounts/accounts.ts';
import { readAffectedScope } from '../../enforcement/staged-enforcement.ts';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { setAccountEnforcement } from '../../enforcement/account-enforcement.ts';
import { changeUser } from '../../users/administration.ts';
import { findAccountUser, findUserById } from '../../users/users.ts';
import { requireRecentAuthentication } from '../recent-authentication.ts';
import { inviteUser, resendInvitation } from '../../users/invitations.ts';
import { listPersonDeliveries, PERSON_DELIVERY_KINDS, type PersonDelivery } from '../../users/deliveries.ts';
import { countUsersWithoutSecondFactor, listAccountUsersWithFactors } from '../../users/listing.ts';
import { toPublicUser } from '../../users/users.ts';
import { confirmedMethodsOf, listConfirmedMethods } from '../../factors/registry.ts';
import { enforcementError, invitationError, listPageError, resendInvitationError, userChangeError } from '../outcome-errors.ts';
import { requireSession } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { AccountSchema, EmailSchema, errorResponses, NameSchema, sessionSecurity, UserSchema } from './schemas.ts';

export async function accountRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  app.get(
    '/account',
    { schema: { tags: ['account'], summary: 'The account of the signed-in user', security: sessionSecurity, response: { 200: AccountSchema, ...errorResponses(401, 403) } } },
    async (request) => {
      const account = await findAccountById(deps.db, requireSession(request).accountId);
      if (!account) throw new HttpError('not_found');
      return toPublicAccount(account);
    },
  );

  app.patch(
    '/account',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'Turn account-wide 2FA enforcement on or off (administrators, recent authentication)',
        security: sessionSecurity,
        body: Type.Object({ enforce2fa: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: AccountSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const session = requireSession(request);
      requireRecentAuthentication(deps, session);
      const user = await findUserById(deps.db, session.userId);
      if (!user) throw new HttpError('unauthenticated');
      const actor = { userId: session.userId, accountId: session.accountId, accountName: session.accountName, name: session.name, methods: await listConfirmedMethods(deps.db, user) };
      const outcome = await setAccountEnforcement(deps, actor, request.body.enforce2fa, originOf(request));
      if (!outcome.ok) throw enforcementError(outcome);
      const account = await findAccountById(deps.db, session.accountId);
      if (!account) throw new HttpError('not_found');
      return toPublicAccount(account);
    },
  );

  app.get(
    '/account/users',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'Users of the account with their 2FA status (administrators)',
        security: sessionSecurity,
        querystring: Type.Object(
          {
            cursor: Type.Optional(Type.String({ maxLength: 400 })),
            email: Type.Optional(Type.String({ maxLength: 254 })),
            twoFactor: Type.Optional(Type.Literal('missing', { description: 'Only the users enforcement affects: active, within enforceFor, without a method the policy allows (CSV: /settings/users.csv?twoFactor=missing)' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            users: Type.Array(UserSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
            withoutTwoFactor: Type.Union([Type.Integer(), Type.Null()], { description: 'While the account enforces 2FA: active users who have not set it up yet; otherwise null' }),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const session = requireSession(request);
      const lackingTwoFactor = request.query.twoFactor === 'missing' ? await readAffectedScope(deps.db, session.accountId) : null;
      const page = await listAccountUsersWithFactors(deps.db, session.accountId, { cursor: request.query.cursor ?? null, emailPrefix: request.query.email ?? null, limit: 50, lackingTwoFactor });
      if (!page.ok) throw listPageError(page);
      const users = page.users.map((user) => toPublicUser(user, confirmedMethodsOf(user)));
      const withoutTwoFactor = session.accountEnforces2FA ? await countUsersWithoutSecondFactor(deps.db, session.accountId) : null;
      return { users, nextCursor: page.nextCursor, withoutTwoFactor };
    },
  );

  app.post(
    '/account/users',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'Invite a user by e-mail (administrators)',
        security: sessionSecurity,
        body: Type.Object({ email: EmailSchema, name: NameSchema, role: Type.Union([Type.Literal('admin'), Type.Literal('user')]) }, { additionalProperties: false }),
        response: { 201: Type.Object({ user: UserSchema }), ...errorResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const outcome = await inviteUser(deps, { userId: session.userId, name: session.name, accountId: session.accountId, accountName: session.accountName }, request.body, originOf(request));
      if (!outcome.ok) throw invitationError(outcome);
      return reply.code(201).send({ user: toPublicUser(outcome.user, []) });
    },
  );

  app.patch(
    '/account/users/:id',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'Change a user\'s role, deactivate them or reactivate them with active: true (administrators; the account keeps one active admin)',
        security: sessionSecurity,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        body: Type.Object({ role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('user')])), active: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: Type.Object({ user: UserSchema }), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const session = requireSession(request);
      const outcome = await changeUser(deps.db, deps.clock, deps.delivery.queue, { userId: session.userId, accountId: session.accountId }, request.params.id, request.body, originOf(request));
      if (!outcome.ok) throw userChangeError(outcome);
      const methods = await listConfirmedMethods(deps.db, outcome.user);
      return { user: toPublicUser(outcome.user, methods) };
    },
  );

  app.get(
    '/account/users/:id',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'One user of the account, with the status of the e-mails that let them in (administrators)',
        description:
          '`deliveries`: the newest invitation, e-mail verification, password reset and disable-link e-mail of the user, each `queued` (`attempts` > 0: waiting for a retry), `sending`, `sent` or `failed`, with its times. Never any of the message.',
        security: sessionSecurity,
        params: UserIdParams,
        response: { 200: Type.Object({ user: UserSchema, invitationPending: Type.Boolean(), deliveries: Type.Array(DeliverySchema) }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const session = requireSession(request);
      const user = await findAccountUser(deps.db, session.accountId, request.params.id);
      if (!user) throw new HttpError('not_found');
      const methods = await listConfirmedMethods(deps.db, user);
      const deliveries = (await listPersonDeliveries(deps.db, user.id)).map(toPublicDelivery);
      return { user: toPublicUser(user, methods), invitationPending: user.password_hash === null && user.active === 1, deliveries };
    },
  );

  app.post(
    '/account/users/:id/invitation',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'Resend the invitation of a user who has not accepted it (administrators)',
        description: 'A new link; the old one stops working. Counts toward the hourly invitation caps (429 rate_limited). 409 invitation_accepted when the user already set a password or is deactivated.',
        security: sessionSecurity,
        params: UserIdParams,
        response: { 202: Type.Null(), ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const inviter = { userId: session.userId, name: session.name, accountId: session.accountId, accountName: session.accountName };
      const outcome = await resendInvitation(deps, inviter, request.params.id, originOf(request));
      if (!outcome.ok) throw resendInvitationError(outcome);
      return reply.code(202).send(null);
    },
  );
}

const UserIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

const DeliverySchema = Type.Object({
  kind: Type.String({ enum: [...PERSON_DELIVERY_KINDS] }),
  status: Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  queuedAt: Type.String(),
  sentAt: Type.Union([Type.String(), Type.Null()]),
  lastTryAt: Type.Union([Type.String(), Type.Null()], { description: 'failed: about when the last try ran' }),
  nextTryAt: Type.Union([Type.String(), Type.Null()], { description: 'queued: when the next try runs' }),
  lastError: Type.Union([Type.String(), Type.Null()], { description: "the provider's last refusal" }),
});

function toPublicDelivery(delivery: PersonDelivery) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { ...delivery, queuedAt: new Date(delivery.queuedAt).toISOString(), sentAt: iso(delivery.sentAt), lastTryAt: iso(delivery.lastTryAt), nextTryAt: iso(delivery.nextTryAt) };
}
