/**
 * A security-key login seen by an application (PRODUCT.md §2.13, issue 15; SECURITY.md rule 39):
 * openid-client as the relying party, the sign-in walked through Twofold's pages, the key's
 * assertion made by the software authenticator and posted as the Verification Code page's script
 * posts it (JSON to /api/v1 with the page's cookie). The ID token then says acr `phr`, amr
 * `pwd hwk mfa`; a TOTP login asked for `phr` is stepped up with the key. SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hashToken } from '../../src/crypto/tokens.ts';
import { sessionCookieFor } from '../../src/http/plugins/authentication.ts';
import { FormSession } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import type { APIClient } from '../helpers/http.ts';
import { authorizationRequest, callbackOf, exchange, follow, registerClient, signInThroughPages, type Stop } from '../helpers/oidc.ts';
import type { TestServer } from '../helpers/server.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

async function registerKey(server: TestServer, api: APIClient, token: string): Promise<SoftAuthenticator> {
  const key = new SoftAuthenticator(server.origin);
  const options = await api.post('/me/2fa/webauthn/options', undefined, { token });
  assert.equal(options.status, 200, options.text);
  const registered = await api.post('/me/2fa/webauthn', { name: 'YubiKey', response: key.register(options.body.options) }, { token });
  assert.equal(registered.status, 201, registered.text);
  return key;
}

/** On the Verification Code page: "Use your security key", as public/security-key.js does it, then where the page goes next. */
async function useSecurityKey(server: TestServer, browser: FormSession, stop: Stop, key: SoftAuthenticator): Promise<Stop> {
  assert.equal(stop.kind, 'page');
  const page = stop as { path: string; text: string };
  assert.match(page.path, /^\/login\/verify/);
  const step = /<section[^>]*id="security-key-login"[^>]*>/.exec(page.text)?.[0];
  assert.ok(step, 'the Verification Code page offers the security key');
  const attribute = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(step)![1]!.replace(/&amp;/g, '&');
  const options = await browser.postJSON(attribute('data-options-url'));
  assert.equal(options.status, 200, JSON.stringify(options.body));
  const verified = await browser.postJSON(attribute('data-verify-url'), { method: 'webauthn', response: key.assert(options.body.options) });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  return follow(server, browser, attribute('data-done-url'));
}

/** The methods recorded on the browser's own Twofold session (its cookie's row). */
async function sessionMethods(server: TestServer, browser: FormSession): Promise<string> {
  const token = browser.cookie(sessionCookieFor(server.config.publicURL).name);
  assert.ok(token, 'the browser holds a session');
  const row = await server.deps.db.selectFrom('sessions').select(['auth_methods', 'state']).where('token_hash', '=', hashToken(token)).executeTakeFirstOrThrow();
  assert.equal(row.state, 'complete');
  return row.auth_methods;
}

forEachDatabase('OpenID Connect with security keys', (context) => {
  it('signs a key user in through the pages for acr_values=phr: acr phr, amr pwd hwk mfa, the session recorded as password,webauthn', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const key = await registerKey(server, api, user.token);
    const client = await registerClient(server);
    const attempt = await authorizationRequest(client, { acr_values: 'phr' });
    const browser = new FormSession(server);
    const atVerify = await signInThroughPages(server, browser, attempt, user.email, PASSWORD);
    const callback = callbackOf(await useSecurityKey(server, browser, atVerify, key));
    assert.equal(callback.searchParams.get('error'), null, callback.searchParams.get('error_description') ?? '');
    const claims = (await exchange(client, attempt, callback)).claims()!;
    assert.equal(claims.sub, user.userId);
    assert.equal(claims.acr, 'phr');
    assert.deepEqual(claims.amr, ['pwd', 'hwk', 'mfa']);
    assert.equal(await sessionMethods(server, browser), 'password,webauthn');
  });

  it('asks a browser signed in with an app code to log in again for acr_values=phr, and the key reaches phr', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, user.token);
    const key = await registerKey(server, api, user.token);
    const client = await registerClient(server);
    const browser = new FormSession(server);

    // Signed in to the application with the app's code: mfa, not phr.
    const first = await authorizationRequest(client);
    const firstStop = await signInThroughPages(server, browser, first, user.email, PASSWORD, () => ({ method: 'totp', code: nextStepCode(server, secret) }));
    const firstClaims = (await exchange(client, first, callbackOf(firstStop))).claims()!;
    assert.equal(firstClaims.acr, 'mfa');
    assert.deepEqual(firstClaims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(await sessionMethods(server, browser), 'password,totp');

    // The application now asks for phr: the browser's mfa session is asked to log in again.
    server.clock.advance(60_000);
    const stepUp = await authorizationRequest(client, { acr_values: 'phr' });
    const stop = await follow(server, browser, stepUp.url.href);
    assert.equal(stop.kind, 'page', 'no code for an mfa session at phr');
    const page = stop as { path: string; text: string };
    assert.match(page.text, /asks you to log in again/);
    const action = /<form[^>]*action="([^"]+)"/.exec(page.text)![1]!.replace(/&amp;/g, '&');
    const answer = await browser.post(action, { email: user.email, password: PASSWORD }, { formPage: page.path });
    assert.equal(answer.status, 303, answer.text.slice(0, 300));
    const atVerify = await follow(server, browser, answer.location!);
    const callback = callbackOf(await useSecurityKey(server, browser, atVerify, key));
    assert.equal(callback.searchParams.get('error'), null, callback.searchParams.get('error_description') ?? '');
    const claims = (await exchange(client, stepUp, callback)).claims()!;
    assert.equal(claims.acr, 'phr');
    assert.deepEqual(claims.amr, ['pwd', 'hwk', 'mfa']);
    assert.ok(Number(claims.auth_time) > Number(firstClaims.auth_time), 'a fresh login');
    assert.equal(await sessionMethods(server, browser), 'password,webauthn');
  });
}, { publicHost: 'localhost' });
