/** The second step of a login: POST /login/verify (PRODUCT.md §2.2 step 2, §3). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { findSecondFactor, SECOND_FACTOR_KINDS } from '../../factors/registry.ts';
import { WEBAUTHN_KIND } from '../../factors/webauthn/keys.ts';
import { performSecondFactorStep, type SecondStepInput } from '../../login/second-step.ts';
import type { Deps } from '../../deps.ts';
import { secondFactorError } from '../outcome-errors.ts';
import { requireSession, setSessionCookie, type SessionCookie } from '../plugins/authentication.ts';
import { noteBrowserAfterLogin } from '../known-browser.ts';
import { originOf } from '../request-origin.ts';
import { setTrustedBrowserCookie } from '../trusted-browser-cookie.ts';
import { errorResponses, publicSecurity, WebAuthnResponseSchema } from './schemas.ts';

/** The kinds whose answer is a code; a security key's answer is its `response` instead. */
const CODE_KINDS = SECOND_FACTOR_KINDS.filter((kind) => kind !== WEBAUTHN_KIND);
export const LoginMethodSchema = Type.Union(CODE_KINDS.map((kind) => Type.Literal(kind)), { description: 'totp: authenticator app; sms: text message; recovery: a recovery code' });
/** Shape is checked in the handler (after trimming spaces) so that a malformed code still counts as a guess. */
export const CodeSchema = Type.String({ minLength: 1, maxLength: 64, description: 'Six ASCII digits (totp, sms), or a recovery code xxxxx-xxxxx' });

/**
 * A body that failed the schema but still carried a code for a known method: it is answered
 * 400 like any bad body, yet charged as a guess first (SECURITY.md rule 33).
 */
export function attemptedCode(request: FastifyRequest, methods: readonly string[], impliedMethod?: string): { method: string; code: unknown } | null {
  const body = request.body as unknown;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { method = impliedMethod } = body as { method?: unknown };
  if (typeof method !== 'string' || !methods.includes(method)) return null;
  // A security key's answer is its `response`; every other kind's is its `code`.
  if (!Object.hasOwn(body, method === WEBAUTHN_KIND ? 'response' : 'code')) return null;
  // Never the code itself: a body the schema refused (an unknown field beside the right code,
  // say) is charged and refused, never evaluated (rule 34). The marker is no string, so the
  // check counts it as a malformed guess.
  return { method, code: REFUSED_BY_SCHEMA };
}

/** Recovery codes are the fallback: the one code kind that never trusts a browser (second-step.ts says why). */
const RECOVERY_KIND = 'recovery';
const TrustableCodeMethodSchema = Type.Union(CODE_KINDS.filter((kind) => kind !== RECOVERY_KIND).map((kind) => Type.Literal(kind)), { description: 'totp: authenticator app; sms: text message' });
const TrustBrowserSchema = Type.Boolean({ description: "Trust this browser (PRODUCT.md §2.11): with a right code the answer sets the trusted-browser cookie, and the next password login from it skips the code for the account's number of days (none when the account set 0)" });

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
        summary: 'Second step of a login: a code from the authenticator app, a text message or a recovery code, or a security key\'s assertion',
        description:
          'Send the token from POST /login (state mfa_required) as the bearer token or cookie. Answers a NEW token; the one from POST /login stops working. Five wrong codes end the login; ten per user in 15 minutes pause codes for 15 minutes (429 with Retry-After).',
        security: publicSecurity,
        body: Type.Union([
          Type.Object({ method: TrustableCodeMethodSchema, code: CodeSchema, trustBrowser: Type.Optional(TrustBrowserSchema) }, { additionalProperties: false }),
          Type.Object({ method: Type.Literal(RECOVERY_KIND), code: CodeSchema }, { additionalProperties: false, description: 'A recovery code: it never trusts the browser (trustBrowser is refused)' }),
          Type.Object(
            { method: Type.Literal(WEBAUTHN_KIND), response: WebAuthnResponseSchema, trustBrowser: Type.Optional(TrustBrowserSchema) },
            { additionalProperties: false, description: 'A security key: the assertion answering POST /login/webauthn/options' },
          ),
        ]),
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
        const body = request.body;
        input = 'response' in body ? { method: body.method, code: body.response, trustBrowser: body.trustBrowser === true } : { method: body.method, code: body.code, trustBrowser: 'trustBrowser' in body && body.trustBrowser === true };
      }
      const outcome = await performSecondFactorStep(deps, session, input, originOf(request));
      if (!outcome.ok) {
        // A code the schema refused is answered with the schema's own words, as any bad body is.
        if (outcome.reason === 'malformed' && request.validationError) throw request.validationError;
        throw secondFactorError(outcome, findSecondFactor(input.method)!.codeShape);
      }
      if (request.sessionSource === 'cookie') {
        setSessionCookie(reply, cookie, outcome.token, request.session?.createdAt);
        // A browser's login (the security-key page calls this with the page's cookie): see known-browser.ts.
        await noteBrowserAfterLogin(deps, request, reply, session);
      }
      // The device cookie goes to whoever asked, cookie or bearer: it is useful only with the password.
      if (outcome.trustedBrowser) setTrustedBrowserCookie(reply, cookie, outcome.trustedBrowser, deps.clock.now());
      reply.header('cache-control', 'no-store');
      return { state: 'authenticated' as const, token: outcome.token };
    },
  );
}
