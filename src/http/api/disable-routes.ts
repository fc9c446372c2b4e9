/**
 * Turning 2FA off through the API (PRODUCT.md §2.5, §2.6, §3): the user's own DELETE /me/2fa,
 * removing one of two methods, the admin's request for a disable link, and using that link.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { sendDisableLink, consumeDisableLink } from '../../factors/disable-link.ts';
import { disableTwoFactor, removeOneMethod } from '../../factors/disable-two-factor.ts';
import { removeMethodError, sendDisableLinkError, disableLinkError } from '../outcome-errors.ts';
import { requireSession, type SessionCookie } from '../plugins/authentication.ts';
import { requireRecentAuthentication } from '../recent-authentication.ts';
import { originOf } from '../request-origin.ts';
import { IdentityProofSchema, requireIdentityProof } from './identity-proof.ts';
import { errorResponses, PasswordSchema, publicSecurity, sessionSecurity, TokenParamSchema } from './schemas.ts';
import { METHOD_KINDS } from '../../factors/registry.ts';

export async function disableRoutes(parent: FastifyInstance, options: { deps: Deps; cookie: SessionCookie }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  app.delete(
    '/me/2fa',
    {
      attachValidation: true,
      schema: {
        tags: ['2fa'],
        summary: 'Turn your own 2FA off, with your password or a current code',
        description: 'Removes every factor and recovery code and signs out every other session of yours; this one stays signed in. Refused with 403 2fa_enforced while your account requires 2FA.',
        security: sessionSecurity,
        body: IdentityProofSchema,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      // Policy before proof: an enforced account never spends a guess here.
      if (session.accountEnforces2FA) throw new HttpError('2fa_enforced', { variant: 'cannot_disable' });
      if (!session.hasSecondFactor) throw new HttpError('two_factor_not_enabled', { variant: 'not_on' });
      await requireIdentityProof(deps, request, 'disable_2fa');
      await disableTwoFactor(deps, { userId: session.userId, accountId: session.accountId, email: session.email, name: session.name }, { kind: 'self', keepSessionTokenHash: session.tokenHash }, originOf(request));
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/me/2fa/methods/:method',
    {
      attachValidation: true,
      schema: {
        tags: ['2fa'],
        summary: 'Remove one of two methods and keep the other, with your password or a current code',
        security: sessionSecurity,
        params: Type.Object({ method: Type.Union(METHOD_KINDS.map((kind) => Type.Literal(kind))) }, { additionalProperties: false }),
        body: IdentityProofSchema,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const params = request.params as { method?: unknown };
      if (typeof params.method !== 'string' || !METHOD_KINDS.includes(params.method)) throw new HttpError('invalid_request', { variant: 'method_not_totp_or_sms' });
      await requireIdentityProof(deps, request, 'disable_2fa');
      const outcome = await removeOneMethod(deps, { userId: session.userId, accountId: session.accountId, email: session.email, name: session.name }, params.method, originOf(request));
      if (!outcome.ok) throw removeMethodError(outcome);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/account/users/:id/2fa-disable-link',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'E-mail a user a single-use link to turn their 2FA off (administrators, recent authentication)',
        description: 'The link goes to the user only; it is never in this answer. It works once, for 24 hours, and a newer link voids older ones. At most 3 per user per hour.',
        security: sessionSecurity,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        response: { 202: Type.Null(), ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      requireRecentAuthentication(deps, session);
      const outcome = await sendDisableLink(deps, { userId: session.userId, accountId: session.accountId, name: session.name }, request.params.id, originOf(request));
      if (!outcome.ok) throw sendDisableLinkError(outcome);
      return reply.code(202).send(null);
    },
  );

  app.post(
    '/2fa/disable-links/:token',
    {
      config: { access: 'public' },
      schema: {
        tags: ['2fa'],
        summary: 'Use a disable link with your password: turns your 2FA off and signs out every session',
        description: 'Expired, used and unknown links all answer 410 link_expired. A wrong password does not use up the link. No session is created.',
        security: publicSecurity,
        params: TokenParamSchema,
        body: Type.Object({ password: PasswordSchema }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses(400, 401, 410, 429, 503) },
      },
    },
    async (request, reply) => {
      const outcome = await consumeDisableLink(deps, request.params.token, request.body.password, originOf(request));
      if (!outcome.ok) throw disableLinkError(outcome);
      return reply.code(204).send(null);
    },
  );
}
