/**
 * SECURITY.md section L (OpenID Connect), rules 38 and 40 attacked over real HTTP (rule 39's
 * levels and half-authenticated sessions are in test/oidc/flow.test.ts, rule 41's logout in
 * test/oidc/backchannel-logout.test.ts). Rule 38: redirect URIs match exactly, PKCE S256
 * is required and binds the code, a code is single use (a replay — also a concurrent one —
 * revokes what it issued), bound to its client, and client secrets are checked. Every refusal
 * is the spec's error, never a 5xx and never a token.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as oidc from 'openid-client';
import { FormSession } from '../../helpers/browser.ts';
import { PASSWORD, signUp } from '../../helpers/fixtures.ts';
import { authorizationRequest, callbackOf, REDIRECT_URI, registerClient, signInThroughPages, tokenRequest, type RegisteredClient } from '../../helpers/oidc.ts';
import { forEachDatabase } from '../../helpers/suites.ts';

forEachDatabase('L. OpenID Connect', (context) => {
  /** A signed-in user's authorization code for `client`, with the verifier that goes with it. */
  async function codeFor(client: RegisteredClient): Promise<{ code: string; verifier: string }> {
    const { server, api } = context();
    const user = await signUp(api);
    const attempt = await authorizationRequest(client);
    const callback = callbackOf(await signInThroughPages(server, new FormSession(server), attempt, user.email, PASSWORD));
    return { code: callback.searchParams.get('code')!, verifier: attempt.verifier };
  }

  async function authorize(client: RegisteredClient, params: Record<string, string>): Promise<Response> {
    const url = new URL(`${context().server.url}/oidc/auth`);
    for (const [name, value] of Object.entries({ client_id: client.clientId, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI, ...params })) url.searchParams.set(name, value);
    return fetch(url, { redirect: 'manual' });
  }

  it('refuses an unregistered or near-miss redirect URI on an error page, never redirecting there', async () => {
    const client = await registerClient(context().server);
    for (const redirect of [`${REDIRECT_URI}/`, `${REDIRECT_URI}x`, 'http://127.0.0.1:9/Callback', 'http://127.0.0.1:99/callback', 'https://127.0.0.1:9/callback', `${REDIRECT_URI}?next=1`, 'https://evil.example/callback']) {
      const answer = await authorize(client, { redirect_uri: redirect, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
      assert.equal(answer.status, 400, redirect);
      assert.equal(answer.headers.get('location'), null, redirect);
      assert.match(await answer.text(), /redirect_uri/);
    }
  });

  it('requires PKCE with S256: a missing challenge or plain is refused with invalid_request, no code', async () => {
    const client = await registerClient(context().server);
    for (const params of <Record<string, string>[]>[{}, { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }, { code_challenge: 'x'.repeat(43) + '!' , code_challenge_method: 'S256' }]) {
      const answer = await authorize(client, params);
      assert.ok(answer.status >= 300 && answer.status < 500, `${JSON.stringify(params)} answered ${answer.status}`);
      const location = new URL(answer.headers.get('location')!, context().server.url);
      assert.equal(location.origin + location.pathname, REDIRECT_URI);
      assert.equal(location.searchParams.get('error'), 'invalid_request', JSON.stringify(params));
      assert.equal(location.searchParams.get('code'), null);
    }
  });

  it('rule 39: never answers prompt=none with a code, even for a browser signed in to the application', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server);
    const browser = new FormSession(server);
    const first = await authorizationRequest(client);
    callbackOf(await signInThroughPages(server, browser, first, user.email, PASSWORD));
    const silent = await authorizationRequest(client, { prompt: 'none' });
    const answer = await browser.get(silent.url.pathname + silent.url.search);
    const location = new URL(answer.location!, server.url);
    assert.equal(location.origin + location.pathname, REDIRECT_URI);
    assert.equal(location.searchParams.get('error'), 'login_required');
    assert.equal(location.searchParams.get('code'), null);
  });

  it('refuses request objects and request_uri, and oversized or malformed parameters, with spec errors, never a 5xx', async () => {
    const client = await registerClient(context().server);
    const challenge = { code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' };
    for (const params of <Record<string, string>[]>[{ request: 'eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9.' }, { request_uri: 'https://evil.example/request.jwt' }, { max_age: 'soon' }, { claims: '{not json' }, { scope: 'openid', prompt: 'none login' }, { state: 's'.repeat(4000) }]) {
      const answer = await authorize(client, { ...challenge, ...params });
      assert.ok(answer.status < 500, `${Object.keys(params)} answered ${answer.status}`);
      const location = answer.headers.get('location');
      if (location) assert.equal(new URL(location, context().server.url).searchParams.get('code'), null);
    }
    const bad = await fetch(`${context().server.url}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' });
    assert.ok(bad.status >= 400 && bad.status < 500, `malformed token request answered ${bad.status}`);
  });

  it('binds the code to its verifier: a wrong verifier gets invalid_grant and no token', async () => {
    const { server } = context();
    const client = await registerClient(server);
    const { code } = await codeFor(client);
    const answer = await tokenRequest(server.url, client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: oidc.randomPKCECodeVerifier() });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'invalid_grant');
    assert.equal(answer.body.access_token, undefined);
  });

  it('uses a code once: a replay is refused and revokes the tokens it issued', async () => {
    const { server } = context();
    const client = await registerClient(server);
    const { code, verifier } = await codeFor(client);
    const fields = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const first = await tokenRequest(server.url, client, fields);
    assert.equal(first.status, 200);
    assert.equal((await fetch(`${server.url}/oidc/me`, { headers: { authorization: `Bearer ${first.body.access_token}` } })).status, 200);
    const replay = await tokenRequest(server.url, client, fields);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal((await fetch(`${server.url}/oidc/me`, { headers: { authorization: `Bearer ${first.body.access_token}` } })).status, 401, 'the replay revoked the first access token');
  });

  it('gives exactly one of two concurrent exchanges of the same code a token', async () => {
    const { server } = context();
    const client = await registerClient(server);
    const { code, verifier } = await codeFor(client);
    const fields = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const answers = await Promise.all([1, 2, 3].map(() => tokenRequest(server.url, client, fields)));
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 400, 400]);
    assert.ok(answers.every((answer) => answer.status === 200 || answer.body.error === 'invalid_grant'));
  });

  it('refuses a code exchanged by another client, a wrong or missing secret, and a code past its 60 seconds', async () => {
    const { server } = context();
    const client = await registerClient(server);
    const other = await registerClient(server);
    const { code, verifier } = await codeFor(client);
    const fields = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const byOther = await tokenRequest(server.url, other, fields);
    assert.equal(byOther.status, 400);
    assert.equal(byOther.body.error, 'invalid_grant');
    const wrongSecret = await tokenRequest(server.url, { clientId: client.clientId, clientSecret: `${client.clientSecret}x` }, fields);
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body.error, 'invalid_client');
    const noSecret = await tokenRequest(server.url, { clientId: client.clientId, clientSecret: null }, fields);
    assert.equal(noSecret.status, 401);
    assert.equal(noSecret.body.error, 'invalid_client');
    const stored = await server.deps.db.selectFrom('oidc_clients').select('metadata').where('client_id', '=', client.clientId).executeTakeFirstOrThrow();
    assert.doesNotMatch(stored.metadata, new RegExp(client.clientSecret!), 'the secret is stored only as a hash (rule 40)');

    const late = await codeFor(client);
    await server.deps.db.updateTable('oidc_payloads').set({ expires_at: Date.now() - 1 }).where('model', '=', 'AuthorizationCode').execute();
    const expired = await tokenRequest(server.url, client, { grant_type: 'authorization_code', code: late.code, redirect_uri: REDIRECT_URI, code_verifier: late.verifier });
    assert.equal(expired.status, 400);
    assert.equal(expired.body.error, 'invalid_grant');
  });

  it('rule 40: a public client signs in with PKCE alone and still gets RS256 ID tokens; token answers are never cached', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server, { public: true });
    assert.equal(client.clientSecret, null);
    const attempt = await authorizationRequest(client);
    const callback = callbackOf(await signInThroughPages(server, new FormSession(server), attempt, user.email, PASSWORD));
    const answer = await fetch(`${server.url}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: attempt.verifier, client_id: client.clientId }).toString(),
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    const tokens = (await answer.json()) as { id_token: string };
    assert.equal(JSON.parse(Buffer.from(tokens.id_token.split('.')[0]!, 'base64url').toString('utf8')).alg, 'RS256');
    const jwks = (await (await fetch(`${server.url}/oidc/jwks`)).json()) as { keys: Array<Record<string, unknown>> };
    assert.ok(jwks.keys.every((key) => key.kty === 'RSA' && key.alg === 'RS256' && key.d === undefined), 'only public RS256 keys, pinned');
  });

  it('rule 40: the interaction pages keep the CSP, no-store and the CSRF token of every page', async () => {
    const { server } = context();
    const client = await registerClient(server);
    const attempt = await authorizationRequest(client);
    const browser = new FormSession(server);
    const authorize = await browser.get(attempt.url.pathname + attempt.url.search);
    assert.equal(authorize.status, 303);
    const interaction = await browser.get(new URL(authorize.location!, server.url).pathname);
    assert.equal(interaction.status, 303, 'no session: the guard sends the browser to /login');
    for (const answer of [authorize, interaction]) {
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.match(answer.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    }
    const login = await browser.get(interaction.location!);
    assert.match(login.text, /name="_csrf"/);
    // A login form posted from elsewhere is refused like any other (rule 26).
    const forged = await browser.post(interaction.location!, { email: 'a@example.com', password: PASSWORD }, { origin: 'https://evil.example' });
    assert.equal(forged.status, 403);
  });
});
