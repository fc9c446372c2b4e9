/**
 * A relying party for the OpenID Connect tests: openid-client (panva's certified RP library)
 * against the real server, and a cookie-jar browser (FormSession) that walks the sign-in through
 * Twofold's pages — redirects, the meta-refresh "Continuing" page — until the browser is sent
 * back to the application's redirect URI.
 */
import assert from 'node:assert/strict';
import { createPublicKey, createVerify, type JsonWebKeyInput } from 'node:crypto';
import * as oidc from 'openid-client';
import { systemClock } from '../../src/clock.ts';
import { addClient, type NewClient } from '../../src/oidc/clients.ts';
import { FormSession } from './browser.ts';
import type { TestServer } from './server.ts';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export interface RegisteredClient {
  clientId: string;
  clientSecret: string | null;
  config: oidc.Configuration;
}

export async function registerClient(server: TestServer, overrides: Partial<NewClient> = {}): Promise<RegisteredClient> {
  const added = await addClient(server.deps.db, systemClock, { name: 'Acme App', redirectURIs: [REDIRECT_URI], postLogoutRedirectURIs: [], backchannelLogoutURI: null, public: false, require2FA: false, ...overrides }, false);
  assert.ok(added.ok, added.ok ? '' : added.problem);
  const auth = added.clientSecret ? oidc.ClientSecretBasic(added.clientSecret) : oidc.None();
  // The issuer is PUBLIC_URL; a server whose PUBLIC_URL names localhost (security keys need a
  // host name) still listens on 127.0.0.1, so the application's requests are sent there.
  const options: oidc.DiscoveryRequestOptions = { execute: [oidc.allowInsecureRequests] };
  if (server.origin !== server.url) options[oidc.customFetch] = (url, init) => fetch(url.replace(server.origin, server.url), init as RequestInit);
  const config = await oidc.discovery(new URL(server.origin), added.clientId, undefined, auth, options);
  return { clientId: added.clientId, clientSecret: added.clientSecret, config };
}

export interface AuthorizationAttempt {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

export async function authorizationRequest(client: RegisteredClient, extra: Record<string, string> = {}): Promise<AuthorizationAttempt> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(client.config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, verifier, state, nonce };
}

export type Stop = { kind: 'callback'; url: URL } | { kind: 'page'; path: string; status: number; text: string };

/** Follows redirects and "Continuing" pages from `start` until a Twofold page or the application's callback. */
export async function follow(server: TestServer, browser: FormSession, start: string): Promise<Stop> {
  let target = new URL(start, server.url);
  for (let hop = 0; hop < 20; hop += 1) {
    if (target.origin !== new URL(server.url).origin && target.origin !== server.origin) return { kind: 'callback', url: target };
    const path = target.pathname + target.search;
    const answer = await browser.get(path);
    if (answer.status >= 300 && answer.status < 400 && answer.location) {
      target = new URL(answer.location, target);
      continue;
    }
    const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(answer.text);
    if (answer.status === 200 && refresh) {
      target = new URL(refresh[1]!.replace(/&amp;/g, '&'), target);
      continue;
    }
    return { kind: 'page', path, status: answer.status, text: answer.text };
  }
  throw new Error('too many redirects');
}

/** Posts a form on the page the browser stopped at and follows where it leads. */
export async function submit(server: TestServer, browser: FormSession, path: string, fields: Record<string, string>): Promise<Stop> {
  const answer = await browser.post(path, fields);
  assert.ok(answer.status === 303 && answer.location, `POST ${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return follow(server, browser, answer.location);
}

export function callbackOf(stop: Stop): URL {
  assert.equal(stop.kind, 'callback', stop.kind === 'page' ? `stopped at ${stop.path} (${stop.status}): ${stop.text.slice(0, 400)}` : '');
  return (stop as { url: URL }).url;
}

export async function exchange(client: RegisteredClient, attempt: AuthorizationAttempt, callback: URL) {
  return oidc.authorizationCodeGrant(client.config, callback, { pkceCodeVerifier: attempt.verifier, expectedState: attempt.state, expectedNonce: attempt.nonce });
}

/** Checks an ID token's RS256 signature against the provider's published JWKS, independently of openid-client. */
export async function verifyAgainstJWKS(server: TestServer, idToken: string): Promise<{ header: Record<string, unknown>; payload: Record<string, unknown> }> {
  const [headerText, payloadText, signature] = idToken.split('.');
  const header = JSON.parse(Buffer.from(headerText!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const jwks = (await (await fetch(`${server.url}/oidc/jwks`)).json()) as { keys: Array<Record<string, unknown>> };
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  assert.ok(jwk, `the JWKS publishes the key ${String(header.kid)}`);
  assert.equal(jwk.d, undefined, 'the JWKS publishes no private part');
  const valid = createVerify('RSA-SHA256').update(`${headerText}.${payloadText}`).verify(createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' }), Buffer.from(signature!, 'base64url'));
  assert.ok(valid, 'the ID token is signed by the published key');
  return { header, payload: JSON.parse(Buffer.from(payloadText!, 'base64url').toString('utf8')) as Record<string, unknown> };
}

/** A token request by hand (form-encoded, client_secret_basic), to any instance: the answer as is. */
export async function tokenRequest(baseURL: string, client: { clientId: string; clientSecret: string | null }, fields: Record<string, string>): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(fields);
  if (client.clientSecret) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
  else body.set('client_id', client.clientId);
  const response = await fetch(`${baseURL}/oidc/token`, { method: 'POST', headers, body: body.toString() });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Walks a whole sign-in through the pages: password, then `secondStep` fields on the Verification Code page when asked. */
export async function signInThroughPages(server: TestServer, browser: FormSession, attempt: AuthorizationAttempt, email: string, password: string, secondStep?: () => Record<string, string>): Promise<Stop> {
  const atLogin = await follow(server, browser, attempt.url.href);
  if (atLogin.kind === 'callback') return atLogin;
  assert.match(atLogin.path, /^\/login\?next=%2Foidc%2Finteraction%2F/, `stopped at ${atLogin.path}`);
  const afterPassword = await submit(server, browser, atLogin.path, { email, password });
  if (afterPassword.kind === 'callback' || !afterPassword.path.startsWith('/login/verify') || !secondStep) return afterPassword;
  return submit(server, browser, afterPassword.path, secondStep());
}
