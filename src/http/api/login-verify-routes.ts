/** The second step of a login: POST /login/verify (PRODUCT.md §2.2 step 2, §3). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { findSecondFactor, SECOND_FACTOR_KINDS } from '../../factors/registry.ts';
import { performSecondFactorStep, type SecondStepInput } from '../../login/second-step.ts';
import type { Deps } from '../../deps.ts';
import { secondFactorError } from '../outcome-errors.ts';
import { requireSession, setSessionCookie, type SessionCookie } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { errorResponses, publicSecurity } from './schemas.ts';

export const LoginMethodSchema = Type.Union(SECOND_FACTOR_KINDS.map((kind) => Type.Literal(kind)), { description: 'totp: authenticator app; sms: text message; recovery: a recovery code' });
/** Shape is checked in the handler (after trimming spaces) so that a malformed code still counts as a guess. */
export const CodeSchema = Type.String({ minLength: 1, maxLength: 64, description: 'Six ASCII digits (totp, sms), or a recovery code xxxxx-xxxxx' });

/**
 * A body that failed the schema but still carried a code for a known method: it is answered
 * 400 like any bad body, yet charged as a guess first (SECURITY.md rule 33).
 */
export function attemptedCode(request: FastifyRequest, methods: readonly string[], impliedMethod?: string): { method: string; code: unknown } | null {
  const body = request.body as unknown;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, 'code')) return null;
  const { method = impliedMethod } = body as { method?: unknown };
  if (typeof method !== 'string' || !methods.includes(method)) return null;
  // Never the code itself: a body the schema refused (an unknown field beside the right code,
  // say) is charged and refused, never evaluated (rule 34). The marker is no string, so the
  // check counts it as a malformed guess.
  return { method, code: REFUSED_BY_SCHEMA };
}

const REFUSED_BY_SCHEMA = Object.freeze({ refusedBySchema: true });

export async function loginVerifyRoutes(parent: FastifyInstance, options: { deps: Deps; cookie: SessionCookie }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps, cookie } = options;

  app.post(
    '/login/verify',
    {
      config: { access: 'challenge' },
      attachValidation: true,
      schema: {
        tags: ['login'],
        summary: 'Second step of a login: a code from the authenticator app, a text message or a recovery code',
        description:
          'Send the token from POST /login (state mfa_required) as the bearer token or cookie. Answers a NEW token; the one from POST /login stops working. Five wrong codes end the login; ten per user in 15 minutes pause codes for 15 minutes (429 with Retry-After).',
        security: publicSecurity,
        body: Type.Object({ method: LoginMethodSchema, code: CodeSchema }, { additionalProperties: false }),
        response: { 200: Type.Object({ state: Type.Literal('authenticated'), token: Type.String() }), ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      let input: SecondStepInput;
      if (request.validationError) {
        const attempt = attemptedCode(request, SECOND_FACTOR_KINDS);
        if (!attempt) throw request.validationError;
        input = attempt;
      } else {
        input = request.body;
      }
      const outcome = await performSecondFactorStep(deps, session, input, originOf(request));
      if (!outcome.ok) {
        // A code the schema refused is answered with the schema's own words, as any bad body is.
        if (outcome.reason === 'malformed' && request.validationError) throw request.validationError;
        throw secondFactorError(outcome, findSecondFactor(input.method)!.codeShape);
      }
      if (request.sessionSource === 'cookie') setSessionCookie(reply, cookie, outcome.token);
      reply.header('cache-control', 'no-store');
      return { state: 'authenticated' as const, token: outcome.token };
    },
  );
}
