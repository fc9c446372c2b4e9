/**
 * Twofold as an OpenID Provider (PRODUCT.md §2.13; SECURITY.md section L), built on panva's
 * oidc-provider (OpenID Certified). This module is its configuration; `http/oidc-routes.ts`
 * mounts it and serves the interaction through Twofold's own pages.
 *
 * - Issuer PUBLIC_URL, discovery at /.well-known/openid-configuration, the endpoints under /oidc/.
 * - Authorization code + PKCE S256 only (no implicit, hybrid or password grant); refresh tokens
 *   rotated on every use; RP-initiated logout; back-channel logout.
 * - ID tokens signed RS256 with keys from signing-keys.ts, pinned: no `none`, no HS*.
 * - All state in the database (storage-adapter.ts).
 * - Every authorization goes through the interaction: the provider's own session never issues a
 *   code by itself, so a Twofold session that ended, or one that did not reach the requested
 *   level, never yields one (rule 39). The interaction finishes with the login and the grant.
 */
import type { IncomingMessage } from 'node:http';
import Provider, { interactionPolicy } from 'oidc-provider';
import type { Config } from '../config.ts';
import { hashToken, hmacHex, constantTimeEqual } from '../crypto/tokens.ts';
import type { Keys } from '../crypto/keys.ts';
import { ASSURANCE_LEVELS } from '../login/assurance.ts';
import type { Database } from '../storage/schema.ts';
import { SIGNING_ALGORITHM, type PrivateJWK } from './signing-keys.ts';
import { interactionPath, OIDC_PATHS, PROVIDER_SESSION_COOKIE, type ProviderPages } from './provider-paths.ts';
import { storageAdapter } from './storage-adapter.ts';
import { findUserClaims } from './user-claims.ts';

/** Token lifetimes in seconds (PRODUCT.md §4, OIDC row). */
export const OIDC_LIFETIMES = {
  AuthorizationCode: 60,
  IdToken: 60 * 60,
  AccessToken: 10 * 60,
  RefreshToken: 14 * 24 * 60 * 60,
  Interaction: 60 * 60,
  Session: 14 * 24 * 60 * 60,
  Grant: 14 * 24 * 60 * 60,
} as const;

export interface ProviderInputs {
  db: Database;
  config: Pick<Config, 'publicURL' | 'trustedProxies'>;
  keys: Keys;
  signingKeys: PrivateJWK[];
  pages: ProviderPages;
  /** The user confirmed logging out at the end-session endpoint: end their Twofold session too. */
  onLogoutConfirmed(request: IncomingMessage): Promise<void>;
}

const OIDC_CLAIMS = {
  // Claims of the login itself, not of a scope: how and when the user authenticated.
  acr: null,
  amr: null,
  auth_time: null,
  sid: null,
  iss: null,
  // …claimed in every ID token (the provider includes a claim only when a scope names it).
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  email: ['email', 'email_verified'],
  profile: ['name', 'account', 'role'],
};

export function createProvider(inputs: ProviderInputs): Provider {
  const { db, pages } = inputs;
  const policy = interactionPolicy.base();
  // Twofold decides every authorization in its interaction (see above): without the result of
  // one, the login prompt is always requested.
  policy.get('login').checks.add(
    new interactionPolicy.Check('twofold_login', 'Twofold decides every authorization through its own login', 'login_required', (ctx: any) => !ctx.oidc.result?.login),
    0,
  );

  const provider = new Provider(inputs.config.publicURL.origin, {
    adapter: storageAdapter(db),
    jwks: { keys: inputs.signingKeys },
    cookies: { keys: [hmacHex(inputs.keys.hashing, 'oidc cookies')], names: { session: PROVIDER_SESSION_COOKIE }, long: { signed: true, sameSite: 'lax' }, short: { signed: true, sameSite: 'lax' } },
    routes: OIDC_PATHS,
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    claims: OIDC_CLAIMS,
    // Scope claims go into the ID token too (PRODUCT.md §2.13 lists them there).
    conformIdTokenClaims: false,
    acrValues: [...ASSURANCE_LEVELS],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], id_token_signed_response_alg: SIGNING_ALGORITHM, token_endpoint_auth_method: 'client_secret_basic' },
    extraClientMetadata: { properties: ['twofold_require_2fa'] },
    enabledJWA: {
      idTokenSigningAlgValues: [SIGNING_ALGORITHM],
      userinfoSigningAlgValues: [SIGNING_ALGORITHM],
      requestObjectSigningAlgValues: [SIGNING_ALGORITHM],
      clientAuthSigningAlgValues: [SIGNING_ALGORITHM],
    },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: any, form: string) => {
          const action = /action="([^"]+)"/.exec(form)?.[1] ?? OIDC_PATHS.end_session;
          const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1] ?? '';
          ctx.type = 'html';
          ctx.body = pages.logoutConfirmation(action, xsrf, ctx.oidc.client?.clientName ?? null);
        },
        postLogoutSuccessSource: async (ctx: any) => {
          ctx.type = 'html';
          ctx.body = pages.loggedOut(ctx.oidc.client?.clientName ?? null);
        },
      },
    },
    rotateRefreshToken: true,
    // Operator-registered clients are first-party: offline_access needs no consent prompt.
    issueRefreshToken: async (_ctx: any, client: any, code: any) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    ttl: { ...OIDC_LIFETIMES },
    interactions: { policy, url: async (_ctx: any, interaction: any) => interactionPath(interaction.uid) },
    findAccount: async (_ctx: any, sub: string) => {
      const claims = await findUserClaims(db, sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => claims };
    },
    renderError: async (ctx: any, out: { error: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body = pages.error(ctx.status ?? 400, out.error_description ?? out.error);
    },
  });
  provider.proxy = inputs.config.trustedProxies.length > 0;

  // Client secrets are stored as their SHA-256 (rule 40): compare the presented secret's hash.
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, presented: string) {
    return typeof this.clientSecret === 'string' && typeof presented === 'string' && constantTimeEqual(this.clientSecret, hashToken(presented));
  };

  // The provider's auto-submitting forms (response_mode=form_post, a logout without a session, a
  // different user's login in the same browser) carry an inline script and add its hash to the
  // CSP. Pages send no inline script (rule 27): the script goes, the form's own Continue button
  // (meant for browsers without JavaScript) stays, and the CSP is restored to the site's.
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    const csp = ctx.response.get('content-security-policy');
    await next();
    if (typeof ctx.body === 'string' && ctx.body.includes('<script>')) {
      ctx.body = ctx.body
        .replace(/<script>[\s\S]*?<\/script>/g, '')
        .replace(/<\/?noscript>/g, '')
        .replace("Your browser does not support JavaScript or you've disabled it.<br/>", '');
      if (csp) ctx.set('content-security-policy', csp);
    }
  });

  // The end-session endpoint signs out of Twofold too (PRODUCT.md §2.13), once the user chose to.
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === `${OIDC_PATHS.end_session}/confirm` && ctx.oidc?.params?.logout && ctx.status >= 300 && ctx.status < 400) await inputs.onLogoutConfirmed(ctx.req);
  });

  // Every ID token names its Twofold-side session (`sid`, PRODUCT.md §2.13), not only those of
  // clients with a back-channel logout URI: an application can match a later logout token to it.
  provider.Client.prototype.includeSid = () => true;

  // Operator-registered clients are first-party (PRODUCT.md §2.13): a request for offline_access
  // needs no `prompt=consent` (which the provider otherwise demands before it keeps the scope).
  // The interaction grants it without asking.
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    if (ctx.method === 'GET' && ctx.path === OIDC_PATHS.authorization && typeof ctx.query.scope === 'string' && ctx.query.scope.split(' ').includes('offline_access')) {
      const prompts = new Set(typeof ctx.query.prompt === 'string' ? ctx.query.prompt.split(' ').filter(Boolean) : []);
      if (!prompts.has('none') && !prompts.has('consent')) {
        prompts.add('consent');
        ctx.query = { ...ctx.query, prompt: [...prompts].join(' ') };
      }
    }
    await next();
  });
  return provider;
}
