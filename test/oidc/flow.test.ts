/**
 * Twofold as an OpenID Provider, driven by openid-client over real HTTP (PRODUCT.md §2.13, §6
 * "OIDC in tests"; SECURITY.md rules 38–41): discovery, the code + PKCE flow through the pages,
 * ID-token validation against the JWKS, claims after each kind of login.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as oidc from 'openid-client';
import { FormSession } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { authorizationRequest, callbackOf, exchange, follow, registerClient, submit } from '../helpers/oidc.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

forEachDatabase('OpenID Connect sign-in', (context) => {
  it('publishes discovery with code + PKCE S256 only and RS256 ID tokens', async () => {
    const { server } = context();
    const client = await registerClient(server);
    const metadata = client.config.serverMetadata();
    assert.equal(metadata.issuer, server.url);
    assert.deepEqual(metadata.response_types_supported, ['code']);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(metadata.id_token_signing_alg_values_supported, ['RS256']);
    assert.ok(!metadata.grant_types_supported?.includes('password'));
    assert.ok(!metadata.grant_types_supported?.includes('implicit'));
    assert.deepEqual(metadata.acr_values_supported, ['pwd', 'mfa']);
  });

  it('signs a password + app-code user in through the pages and claims pwd, otp, mfa (rule 39)', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const client = await registerClient(server);
    const attempt = await authorizationRequest(client);
    const browser = new FormSession(server);
    const atLogin = await follow(server, browser, attempt.url.href);
    assert.equal(atLogin.kind, 'page');
    assert.match((atLogin as { path: string }).path, /^\/login\?next=%2Foidc%2Finteraction%2F/);
    const atVerify = await submit(server, browser, (atLogin as { path: string }).path, { email: admin.email, password: PASSWORD });
    assert.equal(atVerify.kind, 'page');
    assert.match((atVerify as { path: string }).path, /^\/login\/verify/);
    const callback = callbackOf(await submit(server, browser, (atVerify as { path: string }).path, { method: 'totp', code: nextStepCode(server, secret) }));
    const tokens = await exchange(client, attempt, callback);
    const claims = tokens.claims()!;
    assert.equal(claims.sub, admin.userId);
    assert.equal(claims.email, admin.email);
    assert.equal(claims.acr, 'mfa');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.deepEqual(claims.account, { id: admin.accountId, name: 'Acme' });
    assert.equal(claims.role, 'admin');
    assert.equal(typeof claims.sid, 'string');
    const userinfo = await oidc.fetchUserInfo(client.config, tokens.access_token, admin.userId);
    assert.equal(userinfo.email, admin.email);
  });
});
