/**
 * "Your password or a current code": the proof asked before re-authentication and before
 * turning 2FA off (SECURITY.md rules 20 and 28). Wrong passwords spend the failed-password
 * budget, wrong codes the second-factor budget — the same budgets as the login — and a body
 * whose code fails the schema is still charged as a guess (rule 33).
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { checkSecondFactorCode } from '../../challenges/second-factor-check.ts';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { checkUserPassword, type PasswordStage } from '../../sessions/reauthenticate.ts';
import { requireSession } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { attemptedCode, CodeSchema } from './login-verify-routes.ts';
import { PasswordSchema } from './schemas.ts';

/** Body schema: exactly one of password or code (checked in proveIdentity). */
export const IdentityProofSchema = Type.Object({ password: Type.Optional(PasswordSchema), code: Type.Optional(CodeSchema) }, { additionalProperties: false });

/**
 * Throws the right HttpError unless the request's body proves the session's user is present.
 * Routes using it set `attachValidation: true` so malformed codes reach the budget.
 */
export async function proveIdentity(deps: Deps, request: FastifyRequest, stage: PasswordStage & ('reauthenticate' | 'disable_2fa')): Promise<void> {
  const session = requireSession(request);
  const origin = originOf(request);
  let body: { password?: string; code?: unknown };
  if (request.validationError) {
    const attempt = attemptedCode(request, ['totp'], 'totp');
    if (!attempt) throw request.validationError;
    body = { code: attempt.code };
  } else {
    body = request.body as { password?: string; code?: unknown };
  }
  if ((body.password === undefined) === (body.code === undefined)) throw new HttpError('invalid_request', 'The request is not valid: send either password or code.');

  if (body.code !== undefined) {
    const owner = { userId: session.userId, accountId: session.accountId, email: session.email, name: session.name };
    const checked = await checkSecondFactorCode(deps, owner, { method: 'totp', code: body.code, stage }, origin);
    if (checked.ok) return;
    if (checked.reason === 'locked') throw new HttpError('too_many_attempts', undefined, checked.retryAfterSeconds);
    if (checked.reason === 'malformed') throw new HttpError('invalid_request', 'The request is not valid: body.code must be exactly 6 digits.');
    throw new HttpError('invalid_code');
  }
  const checked = await checkUserPassword(deps, session, body.password!, origin, stage);
  if (checked.ok) return;
  if (checked.reason === 'locked') throw new HttpError('too_many_attempts', undefined, Math.ceil(checked.retryAfterMs / 1000));
  if (checked.reason === 'busy') throw new HttpError('server_busy', undefined, 1);
  throw new HttpError('invalid_credentials');
}
