/** The API side of proving identity (src/login/identity-proof.ts): schema and HTTP answers. */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { proveIdentity, type IdentityProof } from '../../login/identity-proof.ts';
import { identityProofError } from '../outcome-errors.ts';
import { requireSession } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { attemptedCode, CodeSchema } from './login-verify-routes.ts';
import { PasswordSchema, WebAuthnResponseSchema } from './schemas.ts';
import { IDENTITY_PROOF_KIND } from '../../factors/registry.ts';

/** Body schema: exactly one of password, code or a security key's response (checked in proveIdentity). */
export const IdentityProofSchema = Type.Object({ password: Type.Optional(PasswordSchema), code: Type.Optional(CodeSchema), response: Type.Optional(WebAuthnResponseSchema) }, { additionalProperties: false });

/**
 * Throws the right HttpError unless the request's body proves the session's user is present.
 * Routes using it set `attachValidation: true` so malformed codes reach the budget.
 */
export async function requireIdentityProof(deps: Deps, request: FastifyRequest, stage: 'reauthenticate' | 'disable_2fa'): Promise<void> {
  const session = requireSession(request);
  let body: IdentityProof;
  if (request.validationError) {
    const attempt = attemptedCode(request, [IDENTITY_PROOF_KIND], IDENTITY_PROOF_KIND);
    if (!attempt) throw request.validationError;
    body = { code: attempt.code };
  } else {
    body = request.body as IdentityProof;
  }
  const outcome = await proveIdentity(deps, session, body, originOf(request), stage);
  if (outcome.ok) return;
  // A code the schema refused is answered with the schema's own words, as any bad body is.
  if (outcome.reason === 'malformed' && request.validationError) throw request.validationError;
  throw identityProofError(outcome);
}
