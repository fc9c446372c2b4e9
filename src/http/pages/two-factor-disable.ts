/**
 * "Disable Two Factor" on User Details (PRODUCT.md §2.5, SECURITY.md rule 20): refused while
 * the account enforces 2FA, otherwise confirmed by the password or a current code — counted
 * against the same budgets as the login — then every factor, recovery code and session goes.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { errorCatalog, type HttpError } from '../../errors.ts';
import { disableTwoFactor } from '../../factors/disable-two-factor.ts';
import { proveIdentity } from '../../login/identity-proof.ts';
import { PasswordSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { answerRetryAfter, identityProofError } from '../outcome-errors.ts';
import { originOf } from '../request-origin.ts';
import { renderSignedInPage } from '../views/layout.ts';
import { DISABLE_TWO_FACTOR_PATH, renderDisabled, renderDisableRefused, renderDisableTwoFactor } from '../views/two-factor-disable.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { loadMethods } from './two-factor-app-enrollment.ts';

const WRONG = 'That did not match. Check it and try again.';

/** The form's words for a refused password or code; a lock and a busy server keep the registry's. */
export function proofMessage(error: HttpError): string {
  if (error.variant === 'password_or_code') return 'Enter your password.';
  if (error.variant === 'code_not_six_digits') return 'A code from your authenticator app has exactly 6 digits.';
  if (error.code === 'invalid_credentials' || error.code === 'invalid_code') return WRONG;
  return error.message;
}

export async function twoFactorDisablePages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  app.get(DISABLE_TWO_FACTOR_PATH, { schema: { hide: true } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    if (!session.hasSecondFactor) return reply.redirect('/user', 303);
    if (session.accountEnforces2FA) return sendPage(reply, errorCatalog['2fa_enforced'].status, renderSignedInPage('Disable Two Factor', layoutUser, renderDisableRefused(session.accountName)));
    return sendPage(reply, 200, renderSignedInPage('Disable Two Factor', layoutUser, renderDisableTwoFactor(layoutUser.csrfToken, null, await loadMethods(deps, session))));
  });

  app.post(
    DISABLE_TWO_FACTOR_PATH,
    {
      schema: { hide: true, body: formBodySchema({ password: Type.Optional(PasswordSchema), code: Type.Optional(Type.String({ maxLength: 64 })) }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const methods = await loadMethods(deps, session);
      const again = (status: number, message: string) => sendPage(reply, status, renderSignedInPage('Disable Two Factor', layoutUser, renderDisableTwoFactor(layoutUser.csrfToken, message, methods)));
      if (session.accountEnforces2FA) return sendPage(reply, errorCatalog['2fa_enforced'].status, renderSignedInPage('Disable Two Factor', layoutUser, renderDisableRefused(session.accountName)));
      if (!session.hasSecondFactor) return reply.redirect('/user', 303);
      if (formProblem(request)?.field === null) return again(400, MALFORMED_FORM_MESSAGE);
      const fields = readFields(request.body, ['password', 'code'] as const);
      const proof = fields.code !== '' ? { code: fields.code } : fields.password !== '' ? { password: fields.password } : {};
      const outcome = await proveIdentity(deps, session, proof, originOf(request), 'disable_2fa');
      if (!outcome.ok) {
        const error = identityProofError(outcome);
        answerRetryAfter(reply, error);
        return again(error.status, proofMessage(error));
      }
      await disableTwoFactor(deps, { userId: session.userId, accountId: session.accountId, email: session.email, name: session.name }, { kind: 'self', keepSessionTokenHash: session.tokenHash }, originOf(request));
      return sendPage(reply, 200, renderSignedInPage('Two-factor authentication is off', layoutUser, renderDisabled()));
    },
  );
}
