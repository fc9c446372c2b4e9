/** The user's own address and password (issue 17): e-mail verification and change password. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { changePassword } from '../../passwords/change.ts';
import { resendVerificationEmail, verifyEmail } from '../../users/email-verification.ts';
import { changePasswordError } from '../outcome-errors.ts';
import { requireSession } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { errorResponses, PasswordSchema, publicSecurity, sessionSecurity } from './schemas.ts';

export async function meRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  app.post(
    '/email/verify',
    {
      config: { access: 'public' },
      schema: {
        tags: ['me'],
        summary: 'Verify an e-mail address with the token of the link sent at sign-up (single use)',
        security: publicSecurity,
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses(400, 410) },
      },
    },
    async (request, reply) => {
      const outcome = await verifyEmail(deps, request.body.token);
      if (!outcome.ok) throw new HttpError('link_expired');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/me/email/verification',
    {
      schema: {
        tags: ['me'],
        summary: 'Send the verification e-mail again (a new link; the old one stops working)',
        description: `At most a few per hour (429 rate_limited beyond). \`sent\` is false when the address is already verified.`,
        security: sessionSecurity,
        response: { 202: Type.Object({ sent: Type.Boolean() }), ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const outcome = await resendVerificationEmail(deps, requireSession(request).userId);
      if (!outcome.ok) throw new HttpError('rate_limited', { retryAfterSeconds: outcome.retryAfterSeconds });
      return reply.code(202).send({ sent: outcome.sent });
    },
  );

  app.post(
    '/me/password',
    {
      schema: {
        tags: ['me'],
        summary: 'Change the password; signs out every other session',
        description:
          'The current password counts toward the failed-password limit (429 too_many_attempts when locked). 400 weak_password when the new password is not 8 to 128 characters, is a common one, or is the current one; the message says which. The session making the request stays signed in.',
        security: sessionSecurity,
        body: Type.Object({ currentPassword: Type.String({ maxLength: 1024 }), newPassword: PasswordSchema }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const outcome = await changePassword(deps, session, request.body, originOf(request));
      if (!outcome.ok) throw changePasswordError(outcome);
      return reply.code(204).send(null);
    },
  );
}
