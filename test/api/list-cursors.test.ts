/**
 * Rule 34 (bad input: a 4xx, never a 5xx): what a client sends to the paged lists — a cursor,
 * an email search, a user filter — reaches SQL only once it is known to be something this server
 * could have given out. PostgreSQL refuses a NUL byte in text ("invalid byte sequence for
 * encoding UTF8: 0x00") with an error, so a cursor that decodes to one used to answer 500.
 * Every cursor route, API and page, on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { forEachDatabase } from '../helpers/suites.ts';

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Cursors no server gave out: NUL bytes (the 500 of issue 13), garbage, oversized values. */
const BAD_CURSORS: Array<[string, string]> = [
  ['a users cursor holding a NUL byte (ZToA)', 'ZToA'],
  ['an email cursor with a NUL inside', base64url('e:a\0b@example.com')],
  ['a log cursor with a NUL id', base64url(`1700000000000:${'\0'.repeat(36)}`)],
  ['a cursor of control characters', base64url('e:\u0001\u0002\u007f')],
  ['a cursor that decodes to invalid UTF-8', Buffer.from([0x65, 0x3a, 0xff, 0xfe, 0x00]).toString('base64url')],
  ['garbage', '!!not-base64!!'],
  ['an empty email cursor', base64url('e:')],
  ['an oversized cursor', 'A'.repeat(5000)],
  ['an oversized email cursor', base64url(`e:${'a'.repeat(300)}@example.com`)],
];

/** Filters that go into SQL next to the cursor. */
const BAD_FILTERS: Array<[string, string]> = [
  ['a NUL byte', '\0'],
  ['an email with a NUL inside', 'a\0b@example.com'],
];

forEachDatabase('paged lists refuse cursors and filters this server did not give out (rule 34)', (context) => {
  it('GET /account/users, /account/security-log and its CSV answer 400 invalid_request with a clear message to every bad cursor', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (const path of ['/api/v1/account/users', '/api/v1/account/security-log', '/api/v1/account/security-log.csv']) {
      for (const [name, cursor] of BAD_CURSORS) {
        const answer = await request(server.url, 'GET', `${path}?cursor=${encodeURIComponent(cursor)}`, undefined, { token: admin.token });
        assert.equal(answer.status, 400, `${path}, ${name}: ${answer.text}`);
        assert.equal(answer.body.error, 'invalid_request', `${path}, ${name}`);
        assert.match(answer.body.message, /cursor/, `${path}, ${name}`);
      }
    }
  });

  it('the email search of /account/users and the user filter of the security log refuse NUL bytes with 400, never 500', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (const [name, value] of BAD_FILTERS) {
      for (const path of [`/api/v1/account/users?email=${encodeURIComponent(value)}`, `/api/v1/account/security-log?userId=${encodeURIComponent(value)}`, `/api/v1/account/security-log.csv?userId=${encodeURIComponent(value)}`]) {
        const answer = await request(server.url, 'GET', path, undefined, { token: admin.token });
        assert.equal(answer.status, 400, `${path}, ${name}: ${answer.text}`);
        assert.equal(answer.body.error, 'invalid_request', `${path}, ${name}`);
      }
    }
  });

  it('the Users page and the security log page answer a bad cursor or filter with a 400 page that says so, never 500', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const browser = new FormSession(server);
    assert.equal((await browser.post('/login', { email: admin.email, password: PASSWORD })).status, 303);
    for (const pagePath of ['/settings/users', '/settings/security-log']) {
      for (const [name, cursor] of BAD_CURSORS) {
        const answer = await browser.get(`${pagePath}?cursor=${encodeURIComponent(cursor)}`);
        assert.equal(answer.status, 400, `${pagePath}, ${name}`);
        assert.match(answer.text, /page|filters|cursor/i, `${pagePath}, ${name}`);
      }
    }
    for (const [name, value] of BAD_FILTERS) {
      for (const path of [`/settings/users?email=${encodeURIComponent(value)}`, `/settings/security-log?email=${encodeURIComponent(value)}`, `/settings/security-log?userId=${encodeURIComponent(value)}`]) {
        const answer = await browser.get(path);
        assert.ok(answer.status >= 400 && answer.status < 500, `${path}, ${name}: ${answer.status}`);
      }
    }
  });

  it('a cursor the server gave out still pages (the validation refuses only what it never issues)', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    // Long addresses make long cursors: the last of the first page is one of 200+ characters.
    const longLocal = 'z'.repeat(60);
    for (let i = 0; i < 51; i += 1) {
      if (i % 20 === 19) server.clock.advance(3_600_000); // stay under the hourly invitation cap
      const email = i < 50 ? `${String(i).padStart(2, '0')}${longLocal}@${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(40)}.example.com` : `zz-${admin.email}`;
      const invited = await api.post('/account/users', { email, name: `P ${i}`, role: 'user' }, { token: admin.token });
      assert.equal(invited.status, 201, JSON.stringify(invited.body));
    }
    const first = await request(server.url, 'GET', '/api/v1/account/users', undefined, { token: admin.token });
    assert.ok(first.body.nextCursor);
    const second = await request(server.url, 'GET', `/api/v1/account/users?cursor=${first.body.nextCursor}`, undefined, { token: admin.token });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.users.length, 2);
  });
});
