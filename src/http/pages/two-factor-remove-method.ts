/**
 * "Remove" one method on User Details (issue 17): the page form of
 * DELETE /api/v1/me/2fa/methods/{method}. The same checks and the same domain call
 * (removeOneMethod, which refuses the last method under the user's lock), and the same proof as
 * "Disable Two Factor": the password or a current app code, charged to the login's budgets.
 * The last method is refused before anything is asked, so no guess is spent on a removal that
 * cannot happen; the domain checks again under its lock.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { errorCatalog, errorMessage } from '../../errors.ts';
import { removeOneMethod } from '../../factors/disable-two-factor.ts';
import { METHOD_KINDS } from '../../factors/registry.ts';
import { proveIdentity } from '../../login/identity-proof.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { PasswordSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { answerRetryAfter, identityProofError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import type { SafeHTML } from '../views/html.ts';
import { renderSignedInPage, type LayoutUser } from '../views/layout.ts';
import { REMOVE_METHOD_PATH, renderMethodRemoved, renderRemoveMethod, renderRemoveRefused } from '../views/two-factor-remove-method.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { loadMethods } from './two-factor-app-enrollment.ts';
import { proofMessage } from './two-factor-disable.ts';

const ParamsSchema = Type.Object({ method: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: false });

/** Why this method cannot go, or null when it can. */
function refusal(session: SessionContext, method: string, methods: readonly string[]): { status: number; message: string } | null {
  if (!methods.includes(method)) return { status: errorCatalog.two_factor_not_enabled.status, message: errorMessage('two_factor_not_enabled', 'method_not_on') };
  if (methods.length >= 2) return null;
  // The last method: under enforcement there is no "Disable Two Factor" to point to.
  if (session.accountEnforces2FA) {
    return { status: errorCatalog.last_method.status, message: `This is your only second factor, and the administrators of ${session.accountName} require two-factor authentication. Add another method first, then remove this one.` };
  }
  return { status: errorCatalog.last_method.status, message: errorCatalog.last_method.message };
}

export async function twoFactorRemoveMethodPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  function send(reply: FastifyReply, status: number, layoutUser: LayoutUser, title: string, main: SafeHTML): FastifyReply {
    return sendPage(reply, status, renderSignedInPage(title, layoutUser, main));
  }

  function methodOf(params: unknown): string | null {
    const method = (params as { method?: unknown }).method;
    return typeof method === 'string' && METHOD_KINDS.includes(method) ? method : null;
  }

  app.get(REMOVE_METHOD_PATH, { schema: { hide: true, params: ParamsSchema } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    const method = methodOf(request.params);
    if (method === null) return reply.redirect('/user', 303);
    const methods = await loadMethods(deps, session);
    const refused = refusal(session, method, methods);
    if (refused) return send(reply, refused.status, layoutUser, 'Remove a method', renderRemoveRefused(method, refused.message));
    return send(reply, 200, layoutUser, 'Remove a method', renderRemoveMethod({ method, methods, csrfToken: layoutUser.csrfToken, alert: null }));
  });

  app.post(
    REMOVE_METHOD_PATH,
    {
      schema: { hide: true, params: ParamsSchema, body: formBodySchema({ password: Type.Optional(PasswordSchema), code: Type.Optional(Type.String({ maxLength: 64 })) }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const method = methodOf(request.params);
      if (method === null) return reply.redirect('/user', 303);
      const methods = await loadMethods(deps, session);
      const refused = refusal(session, method, methods);
      if (refused) return send(reply, refused.status, layoutUser, 'Remove a method', renderRemoveRefused(method, refused.message));
      const again = (status: number, message: string) => send(reply, status, layoutUser, 'Remove a method', renderRemoveMethod({ method, methods, csrfToken: layoutUser.csrfToken, alert: message }));
      if (formProblem(request)?.field === null) return again(400, MALFORMED_FORM_MESSAGE);
      const fields = readFields(request.body, ['password', 'code'] as const);
      const proof = fields.code !== '' ? { code: fields.code } : fields.password !== '' ? { password: fields.password } : {};
      const proved = await proveIdentity(deps, session, proof, originOf(request), 'disable_2fa');
      if (!proved.ok) {
        const error = identityProofError(proved);
        answerRetryAfter(reply, error);
        return again(error.status, proofMessage(error));
      }
      const outcome = await removeOneMethod(deps, { userId: session.userId, accountId: session.accountId, email: session.email, name: session.name }, method, originOf(request));
      if (!outcome.ok) {
        // Another tab removed the other method meanwhile: the domain's lock kept the last one.
        const late = refusal(session, method, await loadMethods(deps, session)) ?? { status: errorCatalog.last_method.status, message: errorCatalog.last_method.message };
        return send(reply, late.status, layoutUser, 'Remove a method', renderRemoveRefused(method, late.message));
      }
      return send(reply, 200, layoutUser, 'Method removed', renderMethodRemoved(method));
    },
  );
}
