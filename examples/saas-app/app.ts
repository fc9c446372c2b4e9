/**
 * A minimal SaaS application that signs its users in through Twofold (OpenID Connect), with
 * openid-client as the relying party: authorization code + PKCE, state and nonce checked, the
 * ID token validated, the claims shown. See the README's "Connect your application".
 *
 * Sessions are kept in memory, which is enough for an example (one process); a real app keeps
 * them where it keeps its other sessions.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';

export interface SaaSAppOptions {
  /** Twofold's PUBLIC_URL: the issuer. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** This app's own base URL; its redirect URI is `${appURL}/callback`. */
  appURL: string;
  /** Ask every sign-in for a second factor (acr_values=mfa). */
  requireMFA?: boolean;
}

interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
}

interface SignedIn {
  claims: Record<string, unknown>;
  idToken: string;
}

const COOKIE = 'saas_session';

function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHTML(title)}</title></head><body><h1>${escapeHTML(title)}</h1>${body}</body></html>`;
}

function cookieOf(request: FastifyRequest): string | null {
  const match = /(?:^|;\s*)saas_session=([A-Za-z0-9_-]+)/.exec(request.headers.cookie ?? '');
  return match ? match[1]! : null;
}

export async function buildSaaSApp(options: SaaSAppOptions): Promise<FastifyInstance> {
  const issuer = new URL(options.issuer);
  // Plain http only for a Twofold on this machine (development); https everywhere else.
  const local = issuer.protocol === 'http:' && ['127.0.0.1', 'localhost'].includes(issuer.hostname);
  const config = await oidc.discovery(issuer, options.clientId, options.clientSecret, undefined, local ? { execute: [oidc.allowInsecureRequests] } : undefined);
  const redirectURI = `${options.appURL}/callback`;
  const pending = new Map<string, PendingSignIn>();
  const sessions = new Map<string, SignedIn>();

  const app = Fastify();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  const setCookie = (reply: FastifyReply, value: string) => reply.header('set-cookie', `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax`);

  app.get('/', async (request, reply) => {
    const session = sessions.get(cookieOf(request) ?? '');
    reply.type('text/html');
    if (!session) return page('Acme App', '<p>You are not signed in.</p><p><a href="/login">Sign in with Twofold</a></p>');
    const rows = Object.entries(session.claims)
      .map(([name, value]) => `<tr><th scope="row">${escapeHTML(name)}</th><td data-claim="${escapeHTML(name)}">${escapeHTML(typeof value === 'string' ? value : JSON.stringify(value))}</td></tr>`)
      .join('');
    return page('Acme App', `<p>Signed in as <strong id="email">${escapeHTML(String(session.claims.email))}</strong>.</p><table>${rows}</table><form method="post" action="/logout"><button type="submit">Sign out</button></form>`);
  });

  app.get('/login', async (_request, reply) => {
    const signIn: PendingSignIn = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
    const key = randomBytes(24).toString('base64url');
    pending.set(key, signIn);
    setCookie(reply, key);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectURI,
      scope: 'openid email profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(signIn.verifier),
      code_challenge_method: 'S256',
      state: signIn.state,
      nonce: signIn.nonce,
      ...(options.requireMFA ? { acr_values: 'mfa' } : {}),
    });
    return reply.redirect(url.href, 303);
  });

  app.get('/callback', async (request, reply) => {
    const key = cookieOf(request) ?? '';
    const signIn = pending.get(key);
    pending.delete(key);
    if (!signIn) return reply.code(400).type('text/html').send(page('Sign-in failed', '<p>No sign-in was started in this browser. <a href="/login">Try again</a>.</p>'));
    try {
      const tokens = await oidc.authorizationCodeGrant(config, new URL(request.url, options.appURL), { pkceCodeVerifier: signIn.verifier, expectedState: signIn.state, expectedNonce: signIn.nonce });
      const claims = tokens.claims()!;
      if (options.requireMFA && claims.acr !== 'mfa') throw new Error('the sign-in did not use a second factor');
      const sessionKey = randomBytes(24).toString('base64url');
      sessions.set(sessionKey, { claims: { ...claims }, idToken: tokens.id_token! });
      setCookie(reply, sessionKey);
      return reply.redirect('/', 303);
    } catch (error) {
      const message = error instanceof oidc.AuthorizationResponseError ? `${error.error}: ${error.error_description ?? ''}` : error instanceof Error ? error.message : String(error);
      return reply.code(400).type('text/html').send(page('Sign-in failed', `<p role="alert">${escapeHTML(message)}</p><p><a href="/login">Try again</a></p>`));
    }
  });

  app.post('/logout', async (request, reply) => {
    const key = cookieOf(request) ?? '';
    const session = sessions.get(key);
    sessions.delete(key);
    setCookie(reply, '');
    if (!session) return reply.redirect('/', 303);
    // Sign out of Twofold too (RP-initiated logout); it asks the user to confirm.
    return reply.redirect(oidc.buildEndSessionUrl(config, { id_token_hint: session.idToken }).href, 303);
  });

  return app;
}
