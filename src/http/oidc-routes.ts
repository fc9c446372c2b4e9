/**
 * Mounts the OpenID Provider (oidc/provider.ts) in the Fastify app and serves its interaction
 * through Twofold's own pages (PRODUCT.md §2.13; SECURITY.md rules 38–41).
 *
 * - The provider's endpoints are handed the raw request: oidc-provider parses its own bodies, so
 *   they get no body parser here. Fastify's hooks still run first — the flood guard, the session
 *   read, CSRF's Origin check — and the security headers and `no-store` are copied onto the raw
 *   response before the provider writes it (rules 26–27).
 * - The token, revocation and userinfo endpoints authenticate the application (client secret,
 *   PKCE verifier, bearer access token), never a browser cookie, so the Origin check does not
 *   apply to them (their callers are servers, which send no Origin).
 * - The interaction page is an ordinary guarded route at 'complete': the central guard sends a
 *   visitor without a session to /login, a password-only one to the Verification Code page and an
 *   enrollment-only one to setup — only a finished login reaches the handler (rule 39). The
 *   handler then applies what the application asked for (oidc/authorization-decision.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { Deps } from '../deps.ts';
import { decideAuthorization, type AuthorizationRequest } from '../oidc/authorization-decision.ts';
import { interactionPath, OIDC_PATHS, type ProviderPages } from '../oidc/provider-paths.ts';
import { revokeSession } from '../sessions/sessions.ts';
import { BACKCHANNEL_LOGOUT_CHANNEL } from '../sessions/application-sessions.ts';
import { backchannelLogoutSender } from '../oidc/backchannel-logout-sender.ts';
import { loadSigningKeys, type PrivateJWK } from '../oidc/signing-keys.ts';
import { sendPage } from './pages/form-input.ts';
import { loginPath, withSecondFactorRequired } from './pages/safe-next.ts';
import { requireSession } from './plugins/authentication.ts';
import { renderErrorPage } from './views/error-page.ts';
import { renderLoginPage } from './views/login.ts';
import { renderContinuePage, renderLoggedOut, renderLogoutConfirmation } from './views/oidc.ts';

const pages: ProviderPages = {
  error: (status, message) => renderErrorPage(status, message, false),
  logoutConfirmation: renderLogoutConfirmation,
  loggedOut: renderLoggedOut,
};

const EXPIRED_REQUEST = 'This sign-in request has expired or is not yours. Go back to the application and sign in again.';

export async function oidcRoutes(app: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const { deps } = options;
  // The signing keys are loaded (on a first start: made) while the rest of the server starts,
  // not before it: making an RSA key is the longest single step of a first start (issue #18,
  // /healthz within 1 s). What needs them waits for them; a failed load is retried by the next.
  let signingKeysLoading: Promise<PrivateJWK[]> | null = null;
  const signingKeys = () =>
    (signingKeysLoading ??= loadSigningKeys(deps.db, deps.clock, deps.keys)).catch((error: unknown) => {
      signingKeysLoading = null;
      throw error;
    });
  signingKeys().catch((error: unknown) => deps.log.error({ err: error instanceof Error ? error.message : String(error) }, 'the OpenID signing keys could not be loaded; the first OpenID request retries'));
  // The Twofold session of a request handed to the provider, for a confirmed logout.
  const twofoldSessions = new WeakMap<object, string>();
  // oidc-provider and its dependencies (koa, jose, ...) are loaded at the first OpenID request,
  // not at start: ~18 MB of a server's resident memory, and many servers never serve one (the
  // compiled build keeps the dynamic import a chunk of its own, read only then). It also warns on
  // import under Node.js 20 (it asks for 22 LTS). A failed load is not kept: the next request retries.
  let loading: Promise<{ provider: Provider; handle: ReturnType<Provider['callback']> }> | null = null;
  const loadProvider = () =>
    (loading ??= Promise.all([import('../oidc/provider.ts'), signingKeys()]).then(([{ createProvider }, signingKeys]) => {
      const provider = createProvider({
        db: deps.db,
        config: deps.config,
        keys: deps.keys,
        signingKeys,
        pages,
        onLogoutConfirmed: async (raw) => {
          const tokenHash = twofoldSessions.get(raw);
          if (tokenHash) await revokeSession(deps.db, tokenHash);
        },
      });
      return { provider, handle: provider.callback() };
    })).catch((error: unknown) => {
      loading = null;
      throw error;
    });
  // Back-channel logout tokens, queued when a user's sessions end (rule 41), are sent by the
  // delivery queue's worker: this process can sign them now.
  deps.delivery.queue.addSender(BACKCHANNEL_LOGOUT_CHANNEL, async (payload) => {
    const [signingKey] = await signingKeys();
    return backchannelLogoutSender({ issuer: deps.config.publicURL.origin, signingKey: signingKey!, db: deps.db })(payload);
  });

  await app.register(async (endpoints) => {
    // oidc-provider reads the body from the raw request itself: leave the stream untouched.
    endpoints.removeAllContentTypeParsers();
    endpoints.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
      const { handle } = await loadProvider();
      const headers = reply.getHeaders();
      if (request.session) twofoldSessions.set(request.raw, request.session.tokenHash);
      reply.hijack();
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) reply.raw.setHeader(name, value as string);
      reply.raw.setHeader('cache-control', 'no-store');
      handle(request.raw, reply.raw);
    };
    const fromApplications = new Set<string>([OIDC_PATHS.token, OIDC_PATHS.revocation, OIDC_PATHS.userinfo]);
    for (const path of Object.values(OIDC_PATHS)) {
      endpoints.route({ method: ['GET', 'POST'], url: path, config: { access: 'public', clientAuthenticated: fromApplications.has(path) }, schema: { hide: true }, handler: handOver });
    }
    // The resume step (/oidc/auth/:uid) and discovery.
    endpoints.route({ method: ['GET', 'POST'], url: `${OIDC_PATHS.authorization}/:uid`, config: { access: 'public' }, schema: { hide: true }, handler: handOver });
    endpoints.route({ method: ['GET', 'POST'], url: `${OIDC_PATHS.end_session}/confirm`, config: { access: 'public' }, schema: { hide: true }, handler: handOver });
    endpoints.route({ method: ['GET'], url: `${OIDC_PATHS.end_session}/success`, config: { access: 'public' }, schema: { hide: true }, handler: handOver });
    endpoints.get('/.well-known/openid-configuration', { config: { access: 'public' }, schema: { hide: true } }, handOver);
  });

  app.get('/oidc/interaction/:uid', { config: { access: 'complete' }, schema: { hide: true } }, async (request, reply) => {
    const uid = (request.params as { uid: string }).uid;
    const { provider } = await loadProvider();
    const details = await interactionOf(provider, request, reply, uid);
    if (!details) return sendPage(reply, 400, renderErrorPage(400, EXPIRED_REQUEST, true));
    const session = requireSession(request);
    const client = await provider.Client.find(details.params.client_id);
    if (!client) return sendPage(reply, 400, renderErrorPage(400, EXPIRED_REQUEST, true));
    const now = deps.clock.now();
    const decision = decideAuthorization(session, authorizationRequestOf(details, client, now), now);
    switch (decision.kind) {
      case 'login_again':
        return sendPage(
          reply,
          200,
          renderLoginPage({ csrfToken: reply.generateCsrf(), action: decision.reason === 'step_up' ? withSecondFactorRequired(loginPath(interactionPath(uid))) : loginPath(interactionPath(uid)), email: session.email, error: `${client.clientName ?? 'The application'} asks you to log in again${decision.reason === 'step_up' ? ' with your second factor' : ''}.`, signupEnabled: false }),
        );
      case 'setup':
        return reply.redirect('/user', 303);
      case 'unmet': {
        const to = await provider.interactionResult(request.raw, reply.raw, { error: 'unmet_authentication_requirements', error_description: decision.description }, { mergeWithLastSubmission: false });
        return sendPage(reply, 200, renderContinuePage(to, client.clientName ?? null));
      }
      case 'grant': {
        const grantId = await grantEverythingRequested(provider, details, session.userId);
        const result = {
          login: { accountId: session.userId, acr: decision.assurance.acr, amr: decision.assurance.amr, ts: Math.floor(session.authenticatedAt / 1000), remember: true },
          consent: { grantId },
        };
        const to = await provider.interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
        return sendPage(reply, 200, renderContinuePage(to, client.clientName ?? null));
      }
    }
  });
}

/** The provider's interaction for this browser, or null when it expired or the uid is not this browser's. */
async function interactionOf(provider: Provider, request: FastifyRequest, reply: FastifyReply, uid: string): Promise<any | null> {
  try {
    const details = await provider.interactionDetails(request.raw, reply.raw);
    return details.uid === uid ? details : null;
  } catch {
    return null;
  }
}

function authorizationRequestOf(details: any, client: any, now: number): AuthorizationRequest {
  const params = details.params as Record<string, unknown>;
  const requestedLevels: string[] = [];
  if (typeof params.acr_values === 'string') requestedLevels.push(...params.acr_values.split(' ').filter(Boolean));
  const acrClaim = claimsOf(params).id_token?.acr;
  if (acrClaim && typeof acrClaim === 'object') {
    if (typeof acrClaim.value === 'string') requestedLevels.push(acrClaim.value);
    if (Array.isArray(acrClaim.values)) requestedLevels.push(...acrClaim.values.filter((value: unknown): value is string => typeof value === 'string'));
  }
  const maxAge = params.max_age === undefined ? null : Number(params.max_age);
  const prompts = typeof params.prompt === 'string' ? params.prompt.split(' ') : [];
  // The provider's clock is real time; the session's times come from the injected clock. The
  // interaction began this long ago, measured on the provider's clock.
  const startedAgo = typeof details.iat === 'number' ? Math.max(0, Date.now() - details.iat * 1000) : 0;
  return {
    requestedLevels,
    clientRequires2FA: client.twofold_require_2fa === true,
    maxAgeSeconds: maxAge !== null && Number.isFinite(maxAge) ? maxAge : null,
    promptLogin: prompts.includes('login'),
    startedAt: now - startedAgo,
  };
}

function claimsOf(params: Record<string, unknown>): { id_token?: Record<string, any> } {
  if (typeof params.claims !== 'string') return {};
  try {
    return JSON.parse(params.claims) as { id_token?: Record<string, any> };
  } catch {
    return {};
  }
}

/** First-party clients get what they asked for without a consent page (PRODUCT.md §2.13). */
async function grantEverythingRequested(provider: Provider, details: any, userId: string): Promise<string> {
  const clientId = details.params.client_id as string;
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : null;
  const grant = existing && existing.accountId === userId ? existing : new provider.Grant({ accountId: userId, clientId });
  if (typeof details.params.scope === 'string') grant.addOIDCScope(details.params.scope);
  const missingClaims = details.prompt?.details?.missingOIDCClaims;
  if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims);
  const claims = claimsOf(details.params as Record<string, unknown>) as Record<string, Record<string, unknown> | undefined>;
  for (const use of ['id_token', 'userinfo']) if (claims[use]) grant.addOIDCClaims(Object.keys(claims[use]));
  return grant.save();
}
