/** Sign-up, the password step, logout and "who am I" (PRODUCT.md §3). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createAccountWithAdmin, toPublicAccount } from '../../accounts/accounts.ts';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { hmacHex } from '../../crypto/tokens.ts';
import { hitCounter, retryAfterSeconds } from '../../limits/counters.ts';
import { performPasswordStep, type MethodLister } from '../../login/password-step.ts';
import { isAcceptablePassword } from '../../passwords/policy.ts';
import { createSession, revokeSession } from '../../sessions/sessions.ts';
import { findUserById, toPublicUser } from '../../users/users.ts';
import { findAccountById } from '../../accounts/accounts.ts';
import { clearSessionCookie, requireSession, setSessionCookie, type SessionCookie } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { AccountSchema, EmailSchema, errorResponses, NameSchema, PasswordSchema, publicSecurity, sessionSecurity, UserSchema } from './schemas.ts';

/** The API's names for session states (PRODUCT.md §3). */
const loginStateNames = { complete: 'authenticated', password_only: 'mfa_required', enrollment_required: 'enrollment_required' } as const;

export interface AuthRouteOptions {
  deps: Deps;
  cookie: SessionCookie;
  listMethods: MethodLister;
}

export async function authRoutes(parent: FastifyInstance, options: AuthRouteOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps, cookie, listMethods } = options;

  app.post(
    '/signup',
    {
      config: { access: 'public' },
      schema: {
        tags: ['sign-up'],
        summary: 'Create an account and its first administrator',
        security: publicSecurity,
        body: Type.Object({ accountName: NameSchema, name: NameSchema, email: EmailSchema, password: PasswordSchema }, { additionalProperties: false }),
        response: { 201: Type.Object({ token: Type.String(), user: UserSchema, account: AccountSchema }), ...errorResponses(400, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      if (!deps.config.signupEnabled) throw new HttpError('signup_disabled');
      if (!isAcceptablePassword(deps.config.policy, request.body.password)) throw new HttpError('weak_password');
      const origin = originOf(request);
      const bySignupIP = await hitCounter(deps.db, deps.clock, `signup-ip:${hmacHex(deps.keys.hashing, origin.ip)}`, 3_600_000);
      if (bySignupIP.count > deps.config.policy.signupsPerIPPerHour) throw new HttpError('rate_limited', undefined, retryAfterSeconds(deps.clock, bySignupIP));
      const hashed = await deps.hasher.hashPassword(request.body.password);
      if (!hashed.ok) throw new HttpError('server_busy', undefined, 1);
      const created = await createAccountWithAdmin(deps.db, deps.clock, { accountName: request.body.accountName, name: request.body.name, email: request.body.email, passwordHash: hashed.value });
      if (!created.ok) throw new HttpError('email_taken');
      const session = await createSession(deps.db, deps.clock, { userId: created.user.id, state: 'complete', ip: origin.ip, userAgent: origin.userAgent ?? '' });
      setSessionCookie(reply, cookie, session.token);
      return reply.code(201).send({ token: session.token, user: { ...toPublicUser(created.user), twoFactor: { enabled: false, methods: [] } }, account: toPublicAccount(created.account) });
    },
  );

  app.post(
    '/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['login'],
        summary: 'Password step of a login',
        security: publicSecurity,
        body: Type.Object({ email: EmailSchema, password: PasswordSchema }, { additionalProperties: false }),
        response: {
          200: Type.Object({ state: Type.Union([Type.Literal('authenticated'), Type.Literal('mfa_required'), Type.Literal('enrollment_required')]), token: Type.String(), methods: Type.Array(Type.String()) }),
          ...errorResponses(400, 401, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const outcome = await performPasswordStep(deps, listMethods, request.body, originOf(request));
      if (!outcome.ok) {
        if (outcome.reason === 'locked') throw new HttpError('too_many_attempts', undefined, Math.ceil(outcome.retryAfterMs / 1000));
        if (outcome.reason === 'busy') throw new HttpError('server_busy', undefined, 1);
        throw new HttpError('invalid_credentials');
      }
      if (request.session) await revokeSession(deps.db, request.session.tokenHash);
      setSessionCookie(reply, cookie, outcome.token);
      return { state: loginStateNames[outcome.state], token: outcome.token, methods: outcome.methods };
    },
  );

  app.post(
    '/logout',
    { config: { access: 'any-session' }, schema: { tags: ['login'], summary: 'End the session', security: sessionSecurity, response: { 204: Type.Null(), ...errorResponses(401) } } },
    async (request, reply) => {
      await revokeSession(deps.db, requireSession(request).tokenHash);
      clearSessionCookie(reply, cookie);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      schema: {
        tags: ['me'],
        summary: 'The signed-in user, their account and 2FA status',
        security: sessionSecurity,
        response: { 200: Type.Object({ user: UserSchema, account: AccountSchema, twoFactor: Type.Object({ enabled: Type.Boolean(), methods: Type.Array(Type.String()) }) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const session = requireSession(request);
      const user = await findUserById(deps.db, session.userId);
      const account = await findAccountById(deps.db, session.accountId);
      if (!user || !account) throw new HttpError('unauthenticated');
      const methods = await listMethods(user);
      const twoFactor = { enabled: methods.length > 0, methods };
      return { user: { ...toPublicUser(user), twoFactor }, account: toPublicAccount(account), twoFactor };
    },
  );
}
