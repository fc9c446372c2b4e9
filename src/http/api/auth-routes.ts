/** Sign-up, the password step, logout and "who am I" (PRODUCT.md §3). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toPublicAccount } from '../../accounts/accounts.ts';
import { signUpAccount } from '../../accounts/signup.ts';
import { formatDay } from '../../enforcement/staged-enforcement.ts';
import type { Deps } from '../../deps.ts';
import { performPasswordStep } from '../../login/password-step.ts';
import { revokeSession } from '../../sessions/sessions.ts';
import { toPublicUser } from '../../users/users.ts';
import { passwordRefusalError, signupError } from '../outcome-errors.ts';
import { clearSessionCookie, requireSession, setSessionCookie, type SessionCookie } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { readTrustedBrowserSecret } from '../trusted-browser-cookie.ts';
import { AccountSchema, EmailSchema, errorResponses, NameSchema, PasswordSchema, publicSecurity, sessionSecurity, UserSchema } from './schemas.ts';

/** The API's names for session states (PRODUCT.md §3). */
const loginStateNames = { complete: 'authenticated', password_only: 'mfa_required', enrollment_required: 'enrollment_required' } as const;

export interface AuthRouteOptions {
  deps: Deps;
  cookie: SessionCookie;
}

export async function authRoutes(parent: FastifyInstance, options: AuthRouteOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps, cookie } = options;

  app.post(
    '/signup',
    {
      config: { access: 'public' },
      schema: {
        tags: ['sign-up'],
        summary: 'Create an account and its first administrator',
        description: '400 weak_password when the password is not 8 to 128 characters long or is in the list of common and breached passwords (NIST SP 800-63B); the message says which.',
        security: publicSecurity,
        body: Type.Object({ accountName: NameSchema, name: NameSchema, email: EmailSchema, password: PasswordSchema }, { additionalProperties: false }),
        response: { 201: Type.Object({ token: Type.String(), user: UserSchema, account: AccountSchema }), ...errorResponses(400, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const outcome = await signUpAccount(deps, request.body, originOf(request));
      if (!outcome.ok) throw signupError(outcome);
      setSessionCookie(reply, cookie, outcome.token);
      return reply.code(201).send({ token: outcome.token, user: toPublicUser(outcome.user, []), account: toPublicAccount(outcome.account) });
    },
  );

  app.post(
    '/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['login'],
        summary: 'Password step of a login',
        description:
          'With the trusted-browser cookie of POST /login/verify {trustBrowser: true} (PRODUCT.md §2.11), a right password answers state authenticated without a code — unless the trust has expired, was ended, was granted after a method the account no longer allows, or the account requires a phishing-resistant method. Such a session proves the password only (acr pwd): an application that asks for a second factor still gets a code.',
        security: publicSecurity,
        body: Type.Object({ email: EmailSchema, password: PasswordSchema }, { additionalProperties: false }),
        response: {
          200: Type.Object({ state: Type.Union([Type.Literal('authenticated'), Type.Literal('mfa_required'), Type.Literal('enrollment_required')]), token: Type.String(), methods: Type.Array(Type.String()) }),
          ...errorResponses(400, 401, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const outcome = await performPasswordStep(deps, { ...request.body, trustedBrowserSecret: readTrustedBrowserSecret(request, cookie) }, originOf(request));
      if (!outcome.ok) throw passwordRefusalError(outcome);
      if (request.session) await revokeSession(deps.db, request.session.tokenHash);
      setSessionCookie(reply, cookie, outcome.token);
      return { state: loginStateNames[outcome.state], token: outcome.token, methods: outcome.methods };
    },
  );

  app.post(
    '/logout',
    { config: { access: 'any-session' }, schema: { tags: ['login'], summary: 'End the session', security: sessionSecurity, response: { 204: Type.Null(), ...errorResponses(400, 401) } } },
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
        response: {
          200: Type.Object({
            user: UserSchema,
            account: AccountSchema,
            twoFactor: Type.Object({
              enabled: Type.Boolean(),
              methods: Type.Array(Type.String()),
              requiredFrom: Type.Optional(Type.String({ description: 'Staged enforcement: YYYY-MM-DD from which this user must have 2FA (setup is due; until then they get in). Absent when nothing is due' })),
            }),
          }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      const session = requireSession(request);
      // Everything comes with the session read already: no further query on this hot path
      // (the session knows whether the address is verified, not when: any time stands for yes).
      const user = { id: session.userId, email: session.email, name: session.name, role: session.role, active: 1, last_login_at: session.lastLoginAt, email_verified_at: session.emailVerified ? 0 : null };
      const publicUser = toPublicUser(user, session.methods);
      const account = { id: session.accountId, name: session.accountName, enforce2fa: session.accountEnforces2FA };
      // Present only while setup is due, so the answer of everyone else keeps its shape.
      const due = session.twoFactorRequiredFrom === null ? {} : { requiredFrom: formatDay(session.twoFactorRequiredFrom) };
      return { user: publicUser, account, twoFactor: { ...publicUser.twoFactor, ...due } };
    },
  );
}
