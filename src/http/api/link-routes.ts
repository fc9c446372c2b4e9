/** Forgot/reset password and accepting invitations: the routes that take e-mailed links. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { passwordWeakness } from '../../passwords/policy.ts';
import { requestPasswordReset, resetPassword } from '../../passwords/reset.ts';
import { acceptInvitation } from '../../users/invitations.ts';
import { linkError, weakPasswordError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import { EmailSchema, errorResponses, PasswordSchema, publicSecurity, TokenParamSchema } from './schemas.ts';

export async function linkRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  app.post(
    '/password/forgot',
    {
      config: { access: 'public' },
      schema: {
        tags: ['password'],
        summary: 'E-mail a password reset link (same answer whether or not the email exists)',
        security: publicSecurity,
        body: Type.Object({ email: EmailSchema }, { additionalProperties: false }),
        response: { 202: Type.Null(), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      // Not awaited: the answer and its timing must not depend on whether the email exists.
      requestPasswordReset(deps, request.body.email, originOf(request)).catch((error: unknown) => {
        request.log.error({ err: error instanceof Error ? error.message : String(error) }, 'password reset request failed');
      });
      return reply.code(202).send(null);
    },
  );

  app.post(
    '/password/reset',
    {
      config: { access: 'public' },
      schema: {
        tags: ['password'],
        summary: 'Set a new password with a reset link token; revokes every session',
        description: '400 weak_password when the password is not 8 to 128 characters long or is in the list of common and breached passwords (NIST SP 800-63B); the message says which.',
        security: publicSecurity,
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }), password: PasswordSchema }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses(400, 410, 503) },
      },
    },
    async (request, reply) => {
      const weakness = passwordWeakness(deps.config.policy, request.body.password);
      if (weakness) throw weakPasswordError(weakness);
      const outcome = await resetPassword(deps, request.body.token, request.body.password, originOf(request));
      if (!outcome.ok) throw linkError(outcome);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/invitations/:token',
    {
      config: { access: 'public' },
      schema: {
        tags: ['invitations'],
        summary: 'Accept an invitation by choosing a password (does not log in)',
        description: '400 weak_password when the password is not 8 to 128 characters long or is in the list of common and breached passwords (NIST SP 800-63B); the message says which.',
        security: publicSecurity,
        params: TokenParamSchema,
        body: Type.Object({ password: PasswordSchema }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses(400, 410, 503) },
      },
    },
    async (request, reply) => {
      const weakness = passwordWeakness(deps.config.policy, request.body.password);
      if (weakness) throw weakPasswordError(weakness);
      const outcome = await acceptInvitation(deps, request.params.token, request.body.password);
      if (!outcome.ok) throw linkError(outcome);
      return reply.code(204).send(null);
    },
  );
}
