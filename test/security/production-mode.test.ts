/** Production mode (PRODUCT.md §5, SECURITY.md rules 25 and 27): HSTS, Secure __Host- cookies, no outbox. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, startTestServer, TEST_ENCRYPTION_KEY, type TestServer } from '../helpers/server.ts';
import { uniqueEmail } from '../helpers/fixtures.ts';

describe('production mode', () => {
  let server: TestServer;
  before(async () => {
    const unusedSMTPPort = await freePort();
    server = await startTestServer('sqlite', { env: { NODE_ENV: 'production', PUBLIC_URL: 'https://twofold.example', SMTP_URL: `smtp://127.0.0.1:${unusedSMTPPort}` } });
  });
  after(async () => {
    await server.close();
  });

  it('sends HSTS', async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.match(response.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
  });

  it('sets the session cookie Secure with the __Host- prefix', async () => {
    const response = await fetch(`${server.url}/api/v1/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountName: 'P', name: 'P', email: uniqueEmail(), password: 'correct horse battery' }),
    });
    assert.equal(response.status, 201);
    const cookie = response.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^__Host-twofold_session=/);
    assert.match(cookie, /; Secure/i);
    assert.match(cookie, /HttpOnly/i);
  });

  it('has no development outbox, by page or API', async () => {
    assert.equal(server.deps.delivery.outbox, null);
    assert.equal((await fetch(`${server.url}/api/v1/dev/outbox`)).status, 404);
    assert.equal((await fetch(`${server.url}/dev/outbox`, { redirect: 'manual' })).status, 404);
  });

  it('accepts cookie-authenticated changes only from the PUBLIC_URL origin, not from localhost', async () => {
    const signup = await fetch(`${server.url}/api/v1/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountName: 'P', name: 'P', email: uniqueEmail(), password: 'correct horse battery' }),
    });
    const cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0]!;
    const fromLocalhost = await fetch(`${server.url}/api/v1/logout`, { method: 'POST', headers: { origin: 'http://localhost:3000', cookie } });
    assert.equal(fromLocalhost.status, 403);
    const fromPublicURL = await fetch(`${server.url}/api/v1/logout`, { method: 'POST', headers: { origin: 'https://twofold.example', cookie } });
    assert.equal(fromPublicURL.status, 204);
  });
});

describe('production mode needs an https:// PUBLIC_URL (rule 25)', () => {
  it('refuses to start over http:// with one line naming PUBLIC_URL, so no cookie is ever set without Secure', async () => {
    const bin = fileURLToPath(new URL('../../bin/twofold.js', import.meta.url));
    const port = await freePort();
    const result = spawnSync(process.execPath, [bin, 'serve'], {
      env: { ...process.env, NODE_ENV: 'production', PUBLIC_URL: `http://127.0.0.1:${port}`, PORT: String(port), ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, SMTP_URL: 'smtp://127.0.0.1:1', DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(result.status, 0, 'the server must not start');
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /PUBLIC_URL/);
    assert.match(lines[0]!, /https:\/\//);
  });
});
