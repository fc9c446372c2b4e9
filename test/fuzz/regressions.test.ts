/**
 * Requests the fuzzer found answered outside the {error, message} shape (SECURITY.md rule 34,
 * PRODUCT.md §3): refusals that happen before routing (an undecodable URL, a path parameter
 * past maxParamLength) or inside Node's HTTP parser (oversized headers, a garbled request
 * line) used Fastify's and Node's own bodies, which echoed the raw path and named internal
 * error codes (FST_ERR_…). And on PostgreSQL, a NUL character in a name, an enrollment id, a
 * path or query parameter reached a text column and failed as a 500. Each case here is one
 * the fuzzer produced.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { it } from 'node:test';
import { signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { send } from './wire.ts';

/** What a raw TCP client gets back for `bytes` (the server closes the connection after it). */
function rawExchange(baseURL: string, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(baseURL).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

forEachDatabase('refusals before routing keep the error shape', (context) => {
  it('answers an API path parameter longer than any id or token with 404 not_found, without echoing it', async () => {
    const { server } = context();
    const response = await send(server.url, { method: 'POST', path: `/api/v1/invitations/${'x'.repeat(1000)}`, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"password":"long enough password"}') });
    assert.equal(response.status, 404, response.text);
    assert.deepEqual(JSON.parse(response.text), { error: 'not_found', message: 'Not found.' });
  });

  it('answers a page path parameter longer than any token with the 404 page, not Fastify JSON', async () => {
    const { server } = context();
    const response = await send(server.url, { method: 'GET', path: `/2fa/disable/${'x'.repeat(1000)}`, headers: {}, body: null });
    assert.equal(response.status, 404);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(response.text, /FST_|xxxxxxxxxx/);
  });

  it('answers an undecodable URL with 400 invalid_request, without the FST code or the raw path', async () => {
    const { server } = context();
    for (const path of ['/api/v1/invitations/%', '/api/v1/invitations/%zz', '/api/v1/me/%FF%FE']) {
      const response = await send(server.url, { method: 'POST', path, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') });
      assert.equal(response.status, 400, `${path}: ${response.text}`);
      const body = JSON.parse(response.text);
      assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
      assert.equal(body.error, 'invalid_request');
      assert.doesNotMatch(response.text, /FST_|%/);
    }
  });

  it('answers headers past the size limit (a flood of query parameters) with 431 headers_too_large', async () => {
    const { server } = context();
    const query = Array.from({ length: 3000 }, (_, index) => `p${index}=${index}`).join('&');
    const response = await send(server.url, { method: 'GET', path: `/api/v1/account/users?${query}`, headers: {}, body: null });
    assert.equal(response.status, 431);
    assert.deepEqual(JSON.parse(response.text), { error: 'headers_too_large', message: 'The request headers or URL are too large.' });
  });

  it('answers a request line Node cannot parse with 400 invalid_request in JSON', async () => {
    const { server } = context();
    const answer = await rawExchange(server.url, 'GARBAGE /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(body, { error: 'invalid_request', message: 'The request could not be read.' });
  });

  it('refuses a NUL character in names and enrollment ids with 400 invalid_request and creates nothing', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const users = async () => (await server.deps.db.selectFrom('users').select('id').execute()).length;
    const before = await users();
    const signup = await api.post('/signup', { accountName: 'Acme\u0000', name: 'Ada', email: uniqueEmail(), password: 'long enough password' });
    assert.equal(signup.status, 400, signup.text);
    assert.equal(signup.body.error, 'invalid_request');
    assert.match(signup.body.message, /accountName must not be blank or contain control characters/);
    const invite = await api.post('/account/users', { email: uniqueEmail(), name: 'Ivy\u0000', role: 'user' }, { token: admin.token });
    assert.equal(invite.status, 400, invite.text);
    assert.equal(await users(), before);
    const confirm = await api.post('/me/2fa/totp/confirm', { enrollmentId: 'a\u0000b', code: '123456' }, { token: admin.token });
    assert.equal(confirm.status, 400, confirm.text);
    assert.equal(confirm.body.error, 'invalid_request');
  });

  it('refuses a NUL character anywhere in the URL with 400, on API routes and pages alike', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const auth = { authorization: `Bearer ${admin.token}` };
    for (const path of ['/api/v1/account/users?email=a%00b', '/api/v1/account/security-log?userId=%00', '/api/v1/account/security-log.csv?userId=a%00', `/api/v1/account/users/a%00b`]) {
      const method = path.startsWith('/api/v1/account/users/') ? 'PATCH' : 'GET';
      const response = await send(server.url, { method, path, headers: { ...auth, 'content-type': 'application/json' }, body: method === 'PATCH' ? Buffer.from('{"active":false}') : null });
      assert.equal(response.status, 400, `${path}: ${response.text}`);
      assert.equal(JSON.parse(response.text).error, 'invalid_request');
    }
    const page = await send(server.url, { method: 'GET', path: '/settings/users/a%00b', headers: { cookie: `twofold_session=${admin.token}` }, body: null });
    assert.equal(page.status, 400);
    assert.deepEqual(server.logLines.filter((line) => /"level":50/.test(line)), [], 'nothing failed inside');
  });
});
