/**
 * Operations endpoints (issue #7): Prometheus metrics at /metrics, off unless METRICS_TOKEN is
 * set and then behind that bearer token; /healthz and /readyz. The exposition counts logins,
 * second-factor results, texts and refusals with closed label vocabularies, times requests by
 * route pattern, and never shows an email, a token or a code (SECURITY.md rule 30).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { after, before, describe, it } from 'node:test';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { databaseTargets, POSTGRES_ADMIN_URL } from '../helpers/databases.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, passwordStep, wrongCode } from '../helpers/two-factor.ts';
import { enrollSMS, textsTo } from '../helpers/sms.ts';

const METRICS_TOKEN = randomBytes(24).toString('hex');

/** The value of one sample line (`name{labels} value`), or null when the exposition lacks it. */
function sample(text: string, name: string, labels: string): number | null {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('/metrics without METRICS_TOKEN', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite');
  });
  after(async () => server?.close());

  it('is off by default: 404 with or without a bearer token', async () => {
    assert.equal((await request(server.url, 'GET', '/metrics')).status, 404);
    assert.equal((await request(server.url, 'GET', '/metrics', undefined, { token: METRICS_TOKEN })).status, 404);
  });

  it('answers /healthz and /readyz while the database answers', async () => {
    const health = await request(server.url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const ready = await request(server.url, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ok' });
  });
});

forEachDatabase(
  '/metrics with METRICS_TOKEN',
  (context) => {
    it('refuses a missing, wrong or differently-shaped token with 401', async () => {
      const { server } = context();
      const missing = await request(server.url, 'GET', '/metrics');
      assert.equal(missing.status, 401);
      assert.equal(missing.body.error, 'unauthenticated');
      assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
      assert.equal((await request(server.url, 'GET', '/metrics', undefined, { token: `${METRICS_TOKEN}x` })).status, 401);
      assert.equal((await request(server.url, 'GET', '/metrics', undefined, { token: METRICS_TOKEN.slice(1) })).status, 401);
      assert.equal((await request(server.url, 'GET', '/metrics', undefined, { headers: { authorization: `Basic ${METRICS_TOKEN}` } })).status, 401);
      assert.ok(!missing.text.includes(METRICS_TOKEN));
    });

    it('counts logins, second-factor results, texts and refusals, and times requests by route pattern, naming no one', async () => {
      const { server, api } = context();
      const admin = await signUp(api);
      assert.equal((await api.post('/login', { email: admin.email, password: 'not the password' })).status, 401);
      const app = await enrollAuthenticatorApp(server, api, admin.token);

      const pending = await passwordStep(api, admin.email);
      const wrong = wrongCode(server, app.secret);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: wrong }, { token: pending })).status, 401);
      const verified = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, app.secret) }, { token: pending });
      assert.equal(verified.status, 200, verified.text);

      const { phone } = await enrollSMS(server, api, verified.body.token ?? app.token);
      const login = await api.post('/login', { email: admin.email, password: PASSWORD });
      assert.equal((await api.post('/login/sms', undefined, { token: login.body.token })).status, 202);
      assert.equal((await api.post('/login/sms', undefined, { token: login.body.token })).status, 429, 'a resend inside the cooldown is refused');
      assert.equal(textsTo(server, phone).length, 2, 'the enrollment text and one login text');
      const linkToken = randomBytes(32).toString('base64url');
      assert.equal((await request(server.url, 'GET', `/nowhere/${linkToken}?code=123456`)).status, 404);

      const scraped = await request(server.url, 'GET', '/metrics', undefined, { token: METRICS_TOKEN });
      assert.equal(scraped.status, 200);
      assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = scraped.text;

      assert.equal(sample(text, 'twofold_login_password_step_total', 'outcome="refused"'), 1);
      assert.equal(sample(text, 'twofold_login_password_step_total', 'outcome="second_factor_required"'), 2);
      assert.equal(sample(text, 'twofold_login_password_step_total', 'outcome="locked"'), null, 'no series for an outcome that never happened');
      assert.equal(sample(text, 'twofold_second_factor_checks_total', 'method="totp",outcome="wrong"'), 1);
      assert.equal(sample(text, 'twofold_second_factor_checks_total', 'method="totp",outcome="success"'), 1);
      assert.equal(sample(text, 'twofold_sms_sends_total', 'outcome="sent"'), 2);
      assert.equal(sample(text, 'twofold_sms_refusals_total', 'reason="cooldown"'), 1);

      assert.equal(sample(text, 'twofold_http_request_duration_seconds_count', 'method="POST",route="/api/v1/login",status_class="4xx"'), 1);
      assert.equal(sample(text, 'twofold_http_request_duration_seconds_count', 'method="POST",route="/api/v1/login/verify",status_class="2xx"'), 1);
      assert.equal(sample(text, 'twofold_http_request_duration_seconds_count', 'method="GET",route="unmatched",status_class="4xx"'), 1);
      assert.match(text, /^twofold_process_resident_memory_bytes \d+/m, 'process metrics are on the same registry');
      assert.match(text, /^twofold_nodejs_eventloop_lag_seconds /m);

      for (const secret of [admin.email, admin.token, pending, login.body.token, linkToken, wrong, phone, METRICS_TOKEN, '127.0.0.1']) {
        assert.ok(!text.includes(secret), `the exposition must not contain ${secret}`);
      }
    });

    it('counts a login ended by wrong codes as a lockout, and a code for an expired login as expired', async () => {
      const { server, api } = context();
      const user = await signUp(api);
      const app = await enrollAuthenticatorApp(server, api, user.token);
      const pending = await passwordStep(api, user.email);
      for (let attempt = 0; attempt < server.config.policy.wrongCodesPerChallenge; attempt++) {
        assert.equal((await api.post('/login/verify', { method: 'totp', code: wrongCode(server, app.secret) }, { token: pending })).status, 401);
      }
      const late = await passwordStep(api, user.email);
      server.clock.advance(server.config.policy.loginChallengeMs + 1000);
      const expired = await api.post('/login/verify', { method: 'totp', code: currentCode(server, app.secret) }, { token: late });
      assert.ok(expired.status >= 400 && expired.status < 500, expired.text);

      const text = (await request(server.url, 'GET', '/metrics', undefined, { token: METRICS_TOKEN })).text;
      assert.equal(sample(text, 'twofold_lockouts_total', 'kind="login_challenge"'), 1);
      assert.equal(sample(text, 'twofold_second_factor_checks_total', 'method="totp",outcome="expired"'), 1);
    });

    it('keeps /metrics out of the OpenAPI document', async () => {
      const { api } = context();
      const doc = await api.get('/openapi.json');
      assert.equal(doc.status, 200);
      assert.ok(!Object.keys(doc.body.paths).includes('/metrics'));
    });
  },
  { env: { METRICS_TOKEN } },
);

describe('/readyz when the database does not answer', async () => {
  const postgres = (await databaseTargets()).find((target) => target.kind === 'postgres')!;
  it('answers 503 with a clear message while /healthz still answers 200, once the database has gone away [postgres]', { skip: postgres.skip }, async () => {
    // A server that started normally (its migrations and the OpenID Provider's signing keys need
    // the database), whose database then disappears: every new connection is refused.
    const server = await startTestServer('postgres');
    try {
      const name = new URL(server.database.url).pathname.slice(1);
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      try {
        await admin.query(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end();
      }
      const ready = await request(server.url, 'GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { error: 'server_busy', message: 'The database does not answer.' });
      assert.equal((await request(server.url, 'GET', '/healthz')).status, 200);
    } finally {
      await server.close();
    }
  });
});
