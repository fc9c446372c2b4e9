/**
 * Twofold as an OpenID Provider, driven by openid-client over real HTTP (PRODUCT.md §2.13, §6
 * "OIDC in tests"; SECURITY.md rules 38–41): discovery, the code + PKCE flow through the pages,
 * ID-token validation against the JWKS, claims after each kind of login, the levels an
 * application can ask for, and refresh-token rotation.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as oidc from 'openid-client';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, logIn, PASSWORD, signUp } from '../helpers/fixtures.ts';
import { authorizationRequest, callbackOf, exchange, follow, registerClient, signInThroughPages, submit, verifyAgainstJWKS } from '../helpers/oidc.ts';
import { enrollSMS, latestSMSCode } from '../helpers/sms.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

forEachDatabase('OpenID Connect sign-in', (context) => {
  it('publishes discovery with code + PKCE S256 only and RS256 ID tokens (rules 38, 40)', async () => {
    const { server } = context();
    const client = await registerClient(server);
    const metadata = client.config.serverMetadata();
    assert.equal(metadata.issuer, server.url);
    assert.deepEqual(metadata.response_types_supported, ['code']);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(metadata.id_token_signing_alg_values_supported, ['RS256']);
    assert.deepEqual(metadata.grant_types_supported?.sort(), ['authorization_code', 'refresh_token']);
    assert.deepEqual(metadata.acr_values_supported, ['pwd', 'mfa', 'phr']);
    assert.equal(metadata.backchannel_logout_supported, true);
    assert.ok(metadata.end_session_endpoint);
  });

  it('signs a password + app-code user in through the pages: ID token verified against the JWKS, amr pwd otp mfa, acr mfa (rule 39)', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const client = await registerClient(server);
    const attempt = await authorizationRequest(client);
    const browser = new FormSession(server);
    const callback = callbackOf(await signInThroughPages(server, browser, attempt, admin.email, PASSWORD, () => ({ method: 'totp', code: nextStepCode(server, secret) })));
    assert.equal(callback.searchParams.get('state'), attempt.state, 'state passes through (rule 38)');
    const tokens = await exchange(client, attempt, callback);
    const { header, payload } = await verifyAgainstJWKS(server, tokens.id_token!);
    assert.equal(header.alg, 'RS256');
    assert.equal(payload.nonce, attempt.nonce, 'nonce passes through (rule 38)');
    const claims = tokens.claims()!;
    assert.equal(claims.iss, server.url);
    assert.equal(claims.sub, admin.userId);
    assert.equal(claims.email, admin.email);
    assert.equal(claims.name, 'Ada Admin');
    assert.equal(claims.acr, 'mfa');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.deepEqual(claims.account, { id: admin.accountId, name: 'Acme' });
    assert.equal(claims.role, 'admin');
    assert.equal(typeof claims.sid, 'string');
    assert.equal(typeof claims.auth_time, 'number');
    const userinfo = await oidc.fetchUserInfo(client.config, tokens.access_token, admin.userId);
    assert.equal(userinfo.email, admin.email);
    assert.deepEqual(userinfo.account, { id: admin.accountId, name: 'Acme' });
  });

  it('claims pwd sms mfa after an SMS login, and pwd alone after a password-only login', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const invited = await inviteAndAccept(server, api, admin.token);
    const { phone } = await enrollSMS(server, api, (await logIn(api, invited.email)).token);
    const client = await registerClient(server);
    const attempt = await authorizationRequest(client);
    const callback = callbackOf(await signInThroughPages(server, new FormSession(server), attempt, invited.email, PASSWORD, () => ({ method: 'sms', code: latestSMSCode(server, phone) })));
    const claims = (await exchange(client, attempt, callback)).claims()!;
    assert.deepEqual(claims.amr, ['pwd', 'sms', 'mfa']);
    assert.equal(claims.acr, 'mfa');
    assert.equal(claims.role, 'user');

    const plain = await signUp(api);
    const second = await authorizationRequest(client);
    const plainClaims = (await exchange(client, second, callbackOf(await signInThroughPages(server, new FormSession(server), second, plain.email, PASSWORD)))).claims()!;
    assert.deepEqual(plainClaims.amr, ['pwd']);
    assert.equal(plainClaims.acr, 'pwd');
  });

  it('never issues a code to a half-authenticated session: the guard sends it to the Verification Code page (rule 39)', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    await enrollAuthenticatorApp(server, api, admin.token);
    const client = await registerClient(server);
    const browser = new FormSession(server);
    const attempt = await authorizationRequest(client);
    const atLogin = await follow(server, browser, attempt.url.href);
    assert.equal(atLogin.kind, 'page');
    const atVerify = await submit(server, browser, (atLogin as { path: string }).path, { email: admin.email, password: PASSWORD });
    assert.equal(atVerify.kind, 'page');
    // The password-only session now tries the authorization again, and its interaction directly.
    const again = await follow(server, browser, (await authorizationRequest(client)).url.href);
    assert.equal(again.kind, 'page', 'no callback, so no code');
    assert.match((again as { path: string }).path, /^\/login\/verify/);
    const interaction = /next=([^&]+)/.exec((atLogin as { path: string }).path)![1]!;
    const direct = await browser.get(decodeURIComponent(interaction));
    assert.equal(direct.status, 303);
    assert.match(direct.location ?? '', /^\/login\/verify/);
    const codes = await server.deps.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'AuthorizationCode').where('account_id', '=', admin.userId).execute();
    assert.equal(codes.length, 0);
  });

  it('sends a user without a second factor to setup for acr_values=mfa, and asks for the second factor once they have one', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server);
    const browser = new FormSession(server);
    const attempt = await authorizationRequest(client, { acr_values: 'mfa' });
    const stop = await signInThroughPages(server, browser, attempt, user.email, PASSWORD);
    assert.equal(stop.kind, 'page');
    assert.equal((stop as { path: string }).path, '/user', 'setup, not a weaker token');

    // Set up the app (which ends the user's other sessions), come back: a login with the new
    // factor, then an mfa token.
    const { secret } = await enrollAuthenticatorApp(server, api, user.token);
    const retry = await authorizationRequest(client, { acr_values: 'mfa' });
    const callback = callbackOf(await signInThroughPages(server, browser, retry, user.email, PASSWORD, () => ({ method: 'totp', code: nextStepCode(server, secret) })));
    assert.equal((await exchange(client, retry, callback)).claims()!.acr, 'mfa');
  });

  it('gives no code at mfa to a browser whose login used only the password, once the user has a second factor (step-up)', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server);
    const browser = new FormSession(server);
    const first = await authorizationRequest(client);
    await exchange(client, first, callbackOf(await signInThroughPages(server, browser, first, user.email, PASSWORD)));
    // The user sets up the app elsewhere; the application now asks for mfa.
    const started = await api.post('/me/2fa/totp', undefined, { token: user.token });
    const secret = started.body.secret as string;
    assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: nextStepCode(server, secret) }, { token: user.token })).status, 200);
    const retry = await authorizationRequest(client, { acr_values: 'mfa' });
    const stop = await follow(server, browser, retry.url.href);
    assert.equal(stop.kind, 'page');
    assert.doesNotMatch((stop as { path: string }).path, /callback/);
    // Adding the factor ended the user's application sign-ins (rule 24), the first code with them;
    // none was issued since.
    assert.equal(await server.deps.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'AuthorizationCode').where('account_id', '=', user.userId).execute().then((rows) => rows.length), 0);
  });

  it('requires the second factor for a --require-2fa client without acr_values', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server, { require2FA: true });
    const attempt = await authorizationRequest(client);
    const stop = await signInThroughPages(server, new FormSession(server), attempt, user.email, PASSWORD);
    assert.equal(stop.kind, 'page');
    assert.equal((stop as { path: string }).path, '/user');
  });

  it('answers a level that cannot be met (an unknown one, or phr without a security key) with unmet_authentication_requirements, never a weaker token (rule 39)', async () => {
    const { server, api } = context();
    for (const acr of ['urn:example:loa4', 'phr']) {
      const user = await signUp(api);
      const client = await registerClient(server);
      const attempt = await authorizationRequest(client, { acr_values: acr });
      const callback = callbackOf(await signInThroughPages(server, new FormSession(server), attempt, user.email, PASSWORD));
      assert.equal(callback.searchParams.get('error'), 'unmet_authentication_requirements', acr);
      assert.equal(callback.searchParams.get('code'), null, acr);
    }
  });

  it('asks a signed-in user to log in again for prompt=login and for an exceeded max_age', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server);
    const browser = new FormSession(server);
    const first = await authorizationRequest(client);
    const firstClaims = (await exchange(client, first, callbackOf(await signInThroughPages(server, browser, first, user.email, PASSWORD)))).claims()!;
    server.clock.advance(120_000);

    for (const extra of <Record<string, string>[]>[{ prompt: 'login' }, { max_age: '60' }]) {
      const attempt = await authorizationRequest(client, extra);
      const stop = await follow(server, browser, attempt.url.href);
      assert.equal(stop.kind, 'page', JSON.stringify(extra));
      assert.match((stop as { text: string }).text, /asks you to log in again/);
      const action = /<form[^>]*action="([^"]+)"/.exec((stop as { text: string }).text)![1]!.replace(/&amp;/g, '&');
      const answer = await browser.post(action, { email: user.email, password: PASSWORD }, { formPage: (stop as { path: string }).path });
      const claims = (await exchange(client, attempt, callbackOf(await follow(server, browser, answer.location!)))).claims()!;
      assert.ok(Number(claims.auth_time) > Number(firstClaims.auth_time), `a fresh login for ${JSON.stringify(extra)}`);
      server.clock.advance(120_000);
    }
  });

  it('rotates refresh tokens: the new one works, the used one is refused and revokes the grant (offline_access without prompt=consent)', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server);
    const attempt = await authorizationRequest(client, { scope: 'openid email offline_access' });
    const tokens = await exchange(client, attempt, callbackOf(await signInThroughPages(server, new FormSession(server), attempt, user.email, PASSWORD)));
    assert.ok(tokens.refresh_token, 'offline_access yields a refresh token for a first-party client');
    const refreshed = await oidc.refreshTokenGrant(client.config, tokens.refresh_token);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'a new refresh token');
    assert.equal(refreshed.claims()?.sub, user.userId);
    await assert.rejects(oidc.refreshTokenGrant(client.config, tokens.refresh_token), (error: any) => error.error === 'invalid_grant');
    await assert.rejects(oidc.refreshTokenGrant(client.config, refreshed.refresh_token!), (error: any) => error.error === 'invalid_grant', 'reuse revoked the whole grant');
  });
});
