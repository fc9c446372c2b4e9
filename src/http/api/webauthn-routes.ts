/**
 * Security keys over the API (PRODUCT.md §2.9, §3 "More API"): registering, listing and removing
 * the signed-in user's keys, and the request options of a login's second step (the assertion
 * itself goes to POST /login/verify with method "webauthn").
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { listSecurityKeys, removeSecurityKey, WEBAUTHN_KIND } from '../../factors/webauthn/keys.ts';
import { relyingPartyOf, type RelyingParty } from '../../factors/webauthn/relying-party.ts';
import { finishKeyRegistration, startKeyRegistration } from '../../factors/webauthn/registration.ts';
import { startAssertion } from '../../factors/webauthn/assertion.ts';
import { parseRegistrationResponse } from '../../factors/webauthn/response-shape.ts';
import { completeEnrollment } from '../../login/enrollment-step.ts';
import { openPendingLoginId } from '../../login/pending-login.ts';
import { removeMethodError, webauthnRefusalError } from '../outcome-errors.ts';
import { requireSession, setSessionCookie, type SessionCookie } from '../plugins/authentication.ts';
import { enrollmentNeedsReauthentication, requireRecentAuthentication } from '../recent-authentication.ts';
import { requireAllowedMethod } from '../method-policy.ts';
import { originOf } from '../request-origin.ts';
import { RecoveryCodesSchema } from './two-factor-routes.ts';
import { errorResponses, NAME_PATTERN, publicSecurity, sessionSecurity, WebAuthnResponseSchema } from './schemas.ts';

/** 1–64 characters, not blank, no control characters (a NUL would be a 500 on PostgreSQL). */
export const KeyNameSchema = Type.String({ minLength: 1, maxLength: 64, pattern: NAME_PATTERN, description: 'What you call the key ("YubiKey", "Work laptop")' });
const OptionsSchema = Type.Object({}, { additionalProperties: true, description: 'PublicKeyCredential options for navigator.credentials (as JSON)' });
const KeySchema = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }), lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) });
const KeyIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false });

function offered(rp: RelyingParty): Extract<RelyingParty, { offered: true }> {
  if (!rp.offered) throw new HttpError('webauthn_unavailable');
  return rp;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export async function webauthnRoutes(parent: FastifyInstance, options: { deps: Deps; cookie: SessionCookie }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps, cookie } = options;
  const rp = relyingPartyOf(deps.config.publicURL);

  app.post(
    '/me/2fa/webauthn/options',
    {
      config: { access: 'setup' },
      schema: {
        tags: ['2fa'],
        summary: 'Start registering a security key or passkey',
        description: 'Answers WebAuthn creation options for navigator.credentials.create (or @simplewebauthn/browser startRegistration). Its challenge lives for 5 minutes and works once. Needs recent authentication, except for the setup an enforcing account requires at login.',
        security: sessionSecurity,
        response: { 200: Type.Object({ options: OptionsSchema }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const party = offered(rp);
      requireAllowedMethod(session, WEBAUTHN_KIND);
      if (enrollmentNeedsReauthentication(deps, session)) throw new HttpError('reauthentication_required');
      const started = await startKeyRegistration(deps, party, { userId: session.userId, email: session.email, name: session.name });
      if (!started.ok) throw webauthnRefusalError(started);
      reply.header('cache-control', 'no-store');
      return { options: started.options as unknown as Record<string, unknown> };
    },
  );

  app.post(
    '/me/2fa/webauthn',
    {
      config: { access: 'setup' },
      schema: {
        tags: ['2fa'],
        summary: 'Finish registering a security key',
        description:
          'Send a name for the key and the browser\'s answer to the options. Answers the key; when it is your first second factor, also ten recovery codes (shown once), and when this completes a login that required enrollment, the new session token. Signs out your other sessions. Up to 10 keys.',
        security: sessionSecurity,
        body: Type.Object({ name: KeyNameSchema, response: WebAuthnResponseSchema }, { additionalProperties: false }),
        response: {
          201: Type.Object({ key: Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }) }), recoveryCodes: Type.Optional(RecoveryCodesSchema), token: Type.Optional(Type.String()) }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const party = offered(rp);
      if (enrollmentNeedsReauthentication(deps, session)) throw new HttpError('reauthentication_required');
      const response = parseRegistrationResponse(request.body.response);
      if (response === null) throw new HttpError('invalid_request', { variant: 'response_not_registration' });
      const stored = await finishKeyRegistration(deps, party, session, { name: request.body.name, response }, originOf(request));
      if (!stored.ok) throw webauthnRefusalError(stored);
      const outcome = await completeEnrollment<{ ok: false }>(deps, session, Promise.resolve(stored), originOf(request));
      if (!outcome.ok) throw new Error('a stored key cannot be refused afterwards');
      reply.header('cache-control', 'no-store');
      if (outcome.newToken && request.sessionSource === 'cookie') setSessionCookie(reply, cookie, outcome.newToken, request.session?.createdAt);
      return reply.code(201).send({
        key: { id: stored.key.id, name: stored.key.name, createdAt: new Date(stored.key.createdAt).toISOString() },
        ...(outcome.recoveryCodes && outcome.recoveryCodes.length > 0 ? { recoveryCodes: outcome.recoveryCodes } : {}),
        ...(outcome.newToken ? { token: outcome.newToken } : {}),
      });
    },
  );

  app.get(
    '/me/2fa/webauthn',
    {
      // Reachable during setup too: the setup page lists the keys being added.
      config: { access: 'setup' },
      schema: {
        tags: ['2fa'],
        summary: 'Your security keys',
        security: sessionSecurity,
        response: { 200: Type.Object({ keys: Type.Array(KeySchema) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const session = requireSession(request);
      const keys = await listSecurityKeys(deps.db, session.userId);
      return { keys: keys.map((key) => ({ id: key.id, name: key.name, createdAt: iso(key.createdAt)!, lastUsedAt: iso(key.lastUsedAt) })) };
    },
  );

  app.delete(
    '/me/2fa/webauthn/:id',
    {
      schema: {
        tags: ['2fa'],
        summary: 'Remove one of your security keys',
        description: 'Needs recent authentication. Your last key cannot be removed while it is your only method: use DELETE /me/2fa to turn two-factor authentication off.',
        security: sessionSecurity,
        params: KeyIdParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      requireRecentAuthentication(deps, session);
      const removed = await removeSecurityKey(deps, session, request.params.id, originOf(request));
      if (!removed.ok) throw removed.reason === 'not_found' ? new HttpError('not_found') : removeMethodError({ reason: 'last_method' });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/me/reauthenticate/webauthn/options',
    {
      schema: {
        tags: ['me'],
        summary: 'Request options to confirm it is you with a security key',
        description: 'Answers WebAuthn request options; send the result as {response} to POST /me/reauthenticate (or DELETE /me/2fa). The challenge works once, for 5 minutes. A wrong assertion counts like a wrong code.',
        security: sessionSecurity,
        response: { 200: Type.Object({ options: OptionsSchema }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const party = offered(rp);
      const requestOptions = await startAssertion(deps, party, { userId: session.userId, purpose: 'reauthenticate', subjectId: null });
      if (requestOptions === null) throw new HttpError('no_security_key');
      reply.header('cache-control', 'no-store');
      return { options: requestOptions as unknown as Record<string, unknown> };
    },
  );

  app.post(
    '/login/webauthn/options',
    {
      config: { access: 'challenge' },
      schema: {
        tags: ['login'],
        summary: 'Request options for the second step with a security key',
        description: 'Send the token from POST /login (state mfa_required). Answers WebAuthn request options for navigator.credentials.get (or @simplewebauthn/browser startAuthentication); send the result to POST /login/verify as {method:"webauthn", response}. The challenge works once, for this login, for 5 minutes.',
        security: publicSecurity,
        response: { 200: Type.Object({ options: OptionsSchema }), ...errorResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const party = offered(rp);
      if (!session.methods.includes(WEBAUTHN_KIND)) throw new HttpError('no_security_key');
      const loginId = await openPendingLoginId(deps.db, deps.clock, deps.config.policy, { tokenHash: session.tokenHash, userId: session.userId, createdAt: session.createdAt });
      if (loginId === null) throw new HttpError('unauthenticated');
      const requestOptions = await startAssertion(deps, party, { userId: session.userId, purpose: 'login', subjectId: loginId });
      if (requestOptions === null) throw new HttpError('no_security_key');
      reply.header('cache-control', 'no-store');
      return { options: requestOptions as unknown as Record<string, unknown> };
    },
  );
}
