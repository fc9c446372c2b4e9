/**
 * Bad input of every kind gets a clear 4xx in the {error, message} shape and changes nothing
 * (SECURITY.md rule 34): malformed JSON, wrong types, missing and unknown fields, prototype
 * keys, deep and oversized bodies, wrong media types.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('bad input', (context) => {
  async function countRows(): Promise<number> {
    const { server } = context();
    const result = await sql<{ n: number }>`select (select count(*) from users) + (select count(*) from accounts) + (select count(*) from sessions) as n`.execute(server.deps.db);
    return Number(result.rows[0]!.n);
  }

  const cases: Array<{ name: string; raw?: string; body?: unknown; contentType?: string; status: number; error: string; mentions?: RegExp }> = [
    { name: 'malformed JSON', raw: '{"accountName": "A",', status: 400, error: 'invalid_request', mentions: /JSON/ },
    { name: 'an empty body', raw: '', status: 400, error: 'invalid_request' },
    { name: 'a JSON array instead of an object', body: [1, 2], status: 400, error: 'invalid_request', mentions: /body/ },
    { name: 'a number where a string belongs', body: { accountName: 5, name: 'N', email: 'a@example.com', password: 'long enough' }, status: 400, error: 'invalid_request', mentions: /accountName/ },
    { name: 'a missing field', body: { accountName: 'A', name: 'N', email: 'a@example.com' }, status: 400, error: 'invalid_request', mentions: /password/ },
    { name: 'an unknown field', body: { accountName: 'A', name: 'N', email: 'a@example.com', password: 'long enough', admin: true }, status: 400, error: 'invalid_request', mentions: /unknown field "admin"/ },
    { name: 'a __proto__ key', raw: '{"accountName":"A","name":"N","email":"a@example.com","password":"long enough","__proto__":{"role":"admin"}}', status: 400, error: 'invalid_request' },
    { name: 'a constructor key', raw: '{"accountName":"A","name":"N","email":"a@example.com","password":"long enough","constructor":{"prototype":{"x":1}}}', status: 400, error: 'invalid_request' },
    { name: 'an invalid email', body: { accountName: 'A', name: 'N', email: 'not an email', password: 'long enough' }, status: 400, error: 'invalid_request', mentions: /email/ },
    { name: 'a short password', body: { accountName: 'A', name: 'N', email: 'short@example.com', password: 'short' }, status: 400, error: 'weak_password' },
    { name: 'a deeply nested body', raw: `{"accountName":${'['.repeat(5000)}${']'.repeat(5000)}}`, status: 400, error: 'invalid_request' },
    { name: 'an oversized body', raw: JSON.stringify({ accountName: 'x'.repeat(200_000), name: 'N', email: 'big@example.com', password: 'long enough' }), status: 413, error: 'payload_too_large' },
    { name: 'a form body on the API', raw: 'accountName=A&name=N', contentType: 'application/x-www-form-urlencoded', status: 415, error: 'unsupported_media_type' },
    { name: 'a text/plain body', raw: 'hello', contentType: 'text/plain', status: 400, error: 'invalid_request', mentions: /body must be object/ },
  ];

  for (const testCase of cases) {
    it(`answers sign-up with ${testCase.name} with ${testCase.status} ${testCase.error} and changes nothing`, async () => {
      const { server } = context();
      const before = await countRows();
      const response = await request(server.url, 'POST', '/api/v1/signup', testCase.body, { raw: testCase.raw, contentType: testCase.contentType });
      assert.equal(response.status, testCase.status, response.text);
      assert.equal(response.body.error, testCase.error);
      assert.equal(typeof response.body.message, 'string');
      if (testCase.mentions) assert.match(response.body.message, testCase.mentions);
      assert.doesNotMatch(response.text, /at \w+ \(|node_modules|\.ts:\d+/, 'no stack trace in the body');
      assert.equal(await countRows(), before);
    });
  }

  it('answers unknown routes and methods with 4xx in the error shape', async () => {
    const { server } = context();
    const missing = await request(server.url, 'GET', '/api/v1/no-such-thing');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error, 'not_found');
    const wrongMethod = await request(server.url, 'PUT', '/api/v1/login', { email: 'a@example.com', password: 'x' });
    assert.ok(wrongMethod.status >= 400 && wrongMethod.status < 500);
  });

  it('refuses wrong types and unknown fields on login without counting a password attempt', async () => {
    const { api } = context();
    const admin = await signUp(api);
    for (let i = 0; i < 12; i += 1) {
      const response = await api.post('/login', { email: admin.email, password: ['array'] });
      assert.equal(response.status, 400);
    }
    const login = await api.post('/login', { email: admin.email, password: 'correct horse battery' });
    assert.equal(login.status, 200, 'schema failures are not password failures');
  });

  it('answers a bad pagination cursor and an unknown query parameter with 400', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const badCursor = await api.get('/account/users?cursor=%%%', { token: admin.token });
    assert.equal(badCursor.status, 400);
    const unknown = await api.get('/account/users?sort=desc', { token: admin.token });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /sort/);
  });

  it('rejects an email address that is already registered with 409 and keeps the first account intact', async () => {
    const { api } = context();
    const email = uniqueEmail();
    await signUp(api, email);
    const again = await api.post('/signup', { accountName: 'Other', name: 'Other', email: email.toUpperCase(), password: 'long enough password' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'email_taken');
  });
});
