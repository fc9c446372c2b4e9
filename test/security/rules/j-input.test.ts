/**
 * SECURITY.md section J — input (rules 33–34). Codes in every shape but six ASCII digits, and
 * bodies built to confuse a parser, sent to the routes that take codes and to every JSON route
 * in the catalog: always a 4xx, never a 5xx, at most one guess per request, no change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signUp } from '../../helpers/fixtures.ts';
import { request } from '../../helpers/http.ts';
import type { TestServer } from '../../helpers/server.ts';
import { enrollAuthenticatorApp, nextStepCode, passwordStep } from '../../helpers/two-factor.ts';
import { onSQLiteServer, secondFactorGuesses, stateSnapshot } from './helpers.ts';

/** Codes that are not exactly six ASCII digits (surrounding spaces aside). */
const MALFORMED_CODES: Array<[string, unknown]> = [
  ['a JSON number', 123456],
  ['an array', ['123456']],
  ['an object', { code: '123456' }],
  ['null', null],
  ['a boolean', true],
  ['Arabic-Indic digits', '١٢٣٤٥٦'],
  ['fullwidth digits', '１２３４５６'],
  ['Devanagari digits', '१२३४५६'],
  ['a plus sign', '+12345'],
  ['a minus sign', '-12345'],
  ['an exponent', '1e5000'],
  ['a hex literal', '0x1E240'],
  ['five digits', '12345'],
  ['seven digits', '1234567'],
  ['an inner space', '123 456'],
  ['an empty string', ''],
  ['an oversized string', '1'.repeat(10_000)],
];

/** The right code dressed up: must never be accepted in a malformed shape. */
function disguisedRightCodes(code: string): Array<[string, unknown]> {
  return [
    ['the right code as a JSON number', Number(code)],
    ['the right code in an array', [code]],
    ['the right code in fullwidth digits', [...code].map((d) => String.fromCharCode(0xff10 + Number(d))).join('')],
    ['the right code with a plus sign', `+${code}`],
    ['the right code with a trailing letter', `${code}a`],
  ];
}

const MINUTE = 60_000;

/** The factor row, whose last accepted step moves only when a code is accepted. */
async function factorState(server: TestServer, userId: string): Promise<string> {
  return JSON.stringify(await server.deps.db.selectFrom('factors').selectAll().where('user_id', '=', userId).execute());
}

onSQLiteServer('J. input', (context) => {
  /** A fresh half-authenticated login and a clean second-factor budget window. */
  async function freshLogin(email: string): Promise<string> {
    context().server.clock.advance(16 * MINUTE);
    return passwordStep(context().api, email);
  }

  describe('rule 33: a code is accepted only as exactly six ASCII digits; anything else is 400 and still one guess', () => {
    it('answers 400 invalid_request to every malformed code at the login step, each charged as exactly one guess', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      await enrollAuthenticatorApp(server, api, admin.token);
      for (const [name, code] of MALFORMED_CODES) {
        const half = await freshLogin(admin.email);
        const before = await secondFactorGuesses(server, admin.userId);
        const answer = await api.post('/login/verify', { method: 'totp', code }, { token: half });
        assert.equal(answer.status, 400, `${name}: ${answer.status} ${answer.text.slice(0, 200)}`);
        assert.equal(answer.body.error, 'invalid_request', name);
        const after = await secondFactorGuesses(server, admin.userId);
        assert.equal(after, 1, `${name} charged ${after} guesses in a fresh window (before: ${before})`);
      }
    });

    it('never accepts the right code in a disguise, and accepts it trimmed of surrounding spaces', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
      const half = await freshLogin(admin.email);
      for (const [name, code] of disguisedRightCodes(nextStepCode(server, secret))) {
        const answer = await api.post('/login/verify', { method: 'totp', code }, { token: half });
        assert.equal(answer.status, 400, name);
        server.clock.advance(30_000);
        if ((await secondFactorGuesses(server, admin.userId)) >= 4) break; // stay below the challenge's 5 wrong codes
      }
      const spaced = await api.post('/login/verify', { method: 'totp', code: ` ${nextStepCode(server, secret)} ` }, { token: half });
      assert.equal(spaced.status, 200, spaced.text);
    });

    it('charges a malformed code as one guess on disabling and on re-authentication too', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { token } = await enrollAuthenticatorApp(server, api, admin.token);
      server.clock.advance(16 * MINUTE);
      for (const [path, method] of [['/me/2fa', 'delete'], ['/me/reauthenticate', 'post']] as const) {
        for (const [name, code] of [['fullwidth digits', '１２３４５６'], ['a JSON number', 123456], ['seven digits', '1234567']] as const) {
          const before = await secondFactorGuesses(server, admin.userId);
          const answer = await api[method](path, { code }, { token });
          assert.equal(answer.status, 400, `${path} ${name}: ${answer.text}`);
          assert.equal(await secondFactorGuesses(server, admin.userId), before + 1, `${path} ${name} is one guess`);
        }
      }
      assert.equal((await api.get('/me', { token })).body.twoFactor.enabled, true, 'nothing was disabled');
    });
  });

  describe('rule 34: unknown fields, wrong types, duplicate and prototype keys, deep and huge bodies: 4xx, at most one guess, no 5xx, no change', () => {
    /** Bodies the JSON parser itself refuses, before any route schema. */
    const PARSER_LEVEL = new Set(['a __proto__ key', 'a constructor key', 'a huge body', 'truncated JSON', 'a repeated key']);
    /**
     * Routes that take no body at all: Fastify ignores whatever body arrives, so only the
     * parser-level cases apply to them (see the report: they do not refuse unknown fields).
     */
    const BODYLESS = new Set(['/api/v1/me/2fa/totp', '/api/v1/me/2fa/recovery-codes', '/api/v1/login/sms', '/api/v1/account/users/:id/2fa-disable-link']);

    function hostileBodies(code: string): Array<[string, string]> {
      return [
        ['an unknown field', JSON.stringify({ method: 'totp', code, admin: true })],
        ['a state flag', JSON.stringify({ method: 'totp', code, state: 'complete', userId: 'x' })],
        ['a wrong type for method', JSON.stringify({ method: ['totp'], code })],
        ['a __proto__ key', `{"method":"totp","code":"${code}","__proto__":{"state":"complete"}}`],
        ['a constructor key', `{"method":"totp","code":"${code}","constructor":{"prototype":{"state":"complete"}}}`],
        ['a deeply nested body', `{"method":"totp","code":${'['.repeat(10_000)}${']'.repeat(10_000)}}`],
        ['a huge body', JSON.stringify({ method: 'totp', code, pad: 'x'.repeat(2_000_000) })],
        ['truncated JSON', `{"method":"totp","code":"${code}"`],
        ['a repeated key', `{"method":"totp","code":"000000","code":"${code}"}`],
      ];
    }

    it('refuses each hostile body at the login step with a 4xx, charges at most one guess and never completes the login', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
      for (let index = 0; index < hostileBodies('000000').length; index += 1) {
        const half = await freshLogin(admin.email);
        // Each body carries the right code, so any acceptance of a hostile body would log in.
        const [name, body] = hostileBodies(nextStepCode(server, secret))[index]!;
        const factorBefore = await factorState(server, admin.userId);
        const answer = await request(server.url, 'POST', '/api/v1/login/verify', undefined, { raw: body, token: half });
        assert.ok(answer.status >= 400 && answer.status < 500, `${name}: ${answer.status} ${answer.text.slice(0, 200)}`);
        assert.ok((await secondFactorGuesses(server, admin.userId)) <= 1, `${name} charged more than one guess`);
        assert.equal(await factorState(server, admin.userId), factorBefore, `${name} consumed the code's time step`);
        assert.equal((await api.get('/me', { token: half })).status, 401, `${name} completed the login`);
      }
    });

    it('answers every JSON route in the catalog with a 4xx, never a 5xx, to hostile bodies, and nothing changes', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
      const routes = server.app.routeCatalog.filter((route) => route.url.startsWith('/api/') && ['POST', 'PATCH', 'DELETE'].includes(route.method) && route.url !== '/api/v1/logout');
      assert.ok(routes.length >= 15);
      const before = await stateSnapshot(server);
      for (const route of routes) {
        const path = route.url.replace(':id', admin.userId).replace(':token', 'A'.repeat(43)).replace(':method', 'totp');
        for (const [name, raw] of hostileBodies('000000')) {
          if (BODYLESS.has(route.url) && !PARSER_LEVEL.has(name)) continue;
          const answer = await request(server.url, route.method, path, undefined, { raw, token: enrolled.token });
          assert.ok(answer.status >= 400 && answer.status < 500, `${route.method} ${route.url} with ${name}: ${answer.status} ${answer.text.slice(0, 200)}`);
          assert.doesNotMatch(answer.text, /at \w+ \(|node_modules|\.ts:\d+/, 'no stack trace');
        }
      }
      assert.equal(await stateSnapshot(server), before, 'a hostile body changed the database');
      assert.equal((await api.get('/me', { token: enrolled.token })).status, 200, 'the session survived');
    });

    it('refuses repeated keys (a wrong code, then the right one) with 400 naming the key, and never logs in', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
      const half = await freshLogin(admin.email);
      for (const raw of [`{"method":"totp","code":"000000","code":"${nextStepCode(server, secret)}"}`, `{"method":"sms","method":"totp","code":"${nextStepCode(server, secret)}"}`, `{"method":"totp","code":"${nextStepCode(server, secret)}","x":{"a":1,"a":2}}`, `{"method":"totp","c\u006fde":"000000","code":"${nextStepCode(server, secret)}"}`]) {
        const answer = await request(server.url, 'POST', '/api/v1/login/verify', undefined, { raw, token: half });
        assert.equal(answer.status, 400, `${raw}: ${answer.text}`);
        assert.equal(answer.body.error, 'invalid_request');
        assert.match(answer.body.message, /repeats the key/);
      }
      assert.equal((await api.get('/me', { token: half })).status, 401);
      const equalNotRepeated = await request(server.url, 'POST', '/api/v1/login/verify', undefined, { raw: `{"method":"totp","code":"${nextStepCode(server, secret)}","note":{"code":"1"}}`, token: half });
      assert.equal(equalNotRepeated.status, 400, 'an unknown field, not a repeated key');
      assert.match(equalNotRepeated.body.message, /unknown field/);
    });

    it('refuses hostile page form bodies with a 4xx and no 5xx', async () => {
      const { server } = context();
      for (const body of ['email=a%40example.com&email=b%40example.com&password=x', `email=${'%5B'.repeat(5000)}&password=x`, `__proto__[admin]=1&email=a%40example.com&password=${'x'.repeat(2_000_000)}`]) {
        const answer = await fetch(`${server.url}/login`, { method: 'POST', headers: { origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
        assert.ok(answer.status >= 400 && answer.status < 500, `${answer.status} for ${body.slice(0, 60)}`);
      }
    });
  });
});
