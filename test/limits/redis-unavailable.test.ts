/**
 * When the Redis behind the limits goes away mid-run, Twofold fails closed (issue 7): logins,
 * sign-ups and SMS sends are answered at once with 503 limits_unavailable and Retry-After —
 * never a hang, never a 500, never an unlimited pass — and change nothing; /healthz still
 * answers; and once Redis is back the same requests work again without a restart. The Redis
 * here is a redis-server the test starts and kills itself.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signUpAccount } from '../../src/accounts/signup.ts';
import { hmacHex } from '../../src/crypto/tokens.ts';
import type { Deps } from '../../src/deps.ts';
import { sendSMSCode } from '../../src/factors/sms/sms-codes.ts';
import { LimitsUnavailableError } from '../../src/limits/limit-counters.ts';
import { redisLimitCounters } from '../../src/limits/redis-counters.ts';
import { performPasswordStep } from '../../src/login/password-step.ts';
import { logIn, PASSWORD, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { apiClient, type APIClient } from '../helpers/http.ts';
import { freePort, startTestServer, type TestServer } from '../helpers/server.ts';
import { textsTo, uniqueMobile } from '../helpers/sms.ts';
import { redisServerSkipReason, startOwnRedis, uniqueKeyPrefix, type OwnRedis } from './redis-helpers.ts';

const MESSAGE = 'Rate limits are unavailable; try again shortly.';

function assertLimitsUnavailable(response: { status: number; body: { error?: string; message?: string }; headers: Headers; text: string }, what: string): void {
  assert.equal(response.status, 503, `${what}: ${response.status} ${response.text}`);
  assert.equal(response.body.error, 'limits_unavailable', what);
  assert.equal(response.body.message, MESSAGE, what);
  assert.equal(response.headers.get('retry-after'), '5', `${what} says when to come back`);
}

async function countRows(server: TestServer, table: 'users' | 'sessions' | 'security_events' | 'sms_codes' | 'rate_limit_counters'): Promise<number> {
  const row = await server.deps.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('limits when Redis goes away', { skip: redisServerSkipReason() }, () => {
  let redis: OwnRedis | null = null;
  let server: TestServer;
  let api: APIClient;
  before(async () => {
    redis = await startOwnRedis();
    server = await startTestServer('sqlite', { env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniqueKeyPrefix() } });
    api = apiClient(server.url);
  });
  after(async () => {
    await server?.close();
    await redis?.kill();
  });

  it('answers login, sign-up and SMS sends with 503 limits_unavailable at once, changes nothing, keeps /healthz, and recovers when Redis is back', async () => {
    const admin = await signUp(api);
    assert.ok((await logIn(api, admin.email)).token, 'with Redis up a login works');
    const phone = uniqueMobile();
    const newEmail = uniqueEmail('while-down');
    const port = redis!.port;

    await redis!.kill();
    const before = { users: await countRows(server, 'users'), sessions: await countRows(server, 'sessions'), events: await countRows(server, 'security_events'), counters: await countRows(server, 'rate_limit_counters') };
    const started = Date.now();
    const [login, wrongPassword, signup, sms, page, me] = await Promise.all([
      api.post('/login', { email: admin.email, password: PASSWORD }),
      api.post('/login', { email: admin.email, password: 'not the password' }),
      api.post('/signup', { accountName: 'Down', name: 'Dee', email: newEmail, password: PASSWORD }),
      api.post('/me/2fa/sms', { phone }, { token: admin.token }),
      fetch(`${server.url}/login`),
      api.get('/me', { token: admin.token }),
    ]);
    assert.ok(Date.now() - started < 10_000, 'answered, not left hanging');
    assertLimitsUnavailable(login, 'login');
    assertLimitsUnavailable(wrongPassword, 'a wrong password');
    assertLimitsUnavailable(signup, 'sign-up');
    assertLimitsUnavailable(sms, 'SMS send');
    // Only the coarse flood guard lets requests through: what needs no security limit keeps working.
    assert.equal(page.status, 200, 'the login page still renders');
    assert.equal(me.status, 200, 'a signed-in user keeps working');

    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, '/healthz still answers');
    const readiness = await fetch(`${server.url}/readyz`);
    assert.equal(readiness.status, 503, '/readyz says the instance cannot serve logins');
    assert.equal(((await readiness.json()) as { error: string }).error, 'limits_unavailable');
    assert.deepEqual(
      { users: await countRows(server, 'users'), sessions: await countRows(server, 'sessions'), events: await countRows(server, 'security_events'), counters: await countRows(server, 'rate_limit_counters') },
      before,
      'no account, session, security event or counter was written',
    );
    assert.equal(textsTo(server, phone).length, 0, 'no text was sent');
    assert.ok(server.logLines.some((line) => /Redis for rate limits/.test(line)), 'the outage is logged');
    assert.ok(!server.logLines.some((line) => /"level":50/.test(line) && /unhandled error/.test(line)), 'no 500 behind the 503s');

    redis = await startOwnRedis(port);
    await waitFor(async () => (await api.post('/login', { email: admin.email, password: PASSWORD })).status === 200, 20_000);
    assert.equal((await api.post('/signup', { accountName: 'Back', name: 'Bea', email: newEmail, password: PASSWORD })).status, 201, 'sign-up works again');
    assert.equal((await api.post('/me/2fa/sms', { phone }, { token: admin.token })).status, 202, 'texts go again');
    assert.equal(textsTo(server, phone).length, 1);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200, 'ready again');
  });

  it('answers 503 limits_unavailable instead of waiting when Redis hangs without closing the connection', async () => {
    const admin = await signUp(api);
    const own = redis!;
    own.process.kill('SIGSTOP');
    try {
      const started = Date.now();
      const [login, sms] = await Promise.all([api.post('/login', { email: admin.email, password: PASSWORD }), api.post('/me/2fa/sms', { phone: uniqueMobile() }, { token: admin.token })]);
      assert.ok(Date.now() - started < 10_000, 'answered, not left hanging');
      assertLimitsUnavailable(login, 'login');
      assertLimitsUnavailable(sms, 'SMS send');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      own.process.kill('SIGCONT');
    }
    await waitFor(async () => (await api.post('/login', { email: admin.email, password: PASSWORD })).status === 200, 20_000);
  });

  it('refuses in the domain too: the password step, sign-up and an SMS send throw LimitsUnavailableError before writing anything', async () => {
    const admin = await signUp(api);
    const deadPort = await freePort();
    const deadLimits = redisLimitCounters({ url: `redis://127.0.0.1:${deadPort}`, keyPrefix: uniqueKeyPrefix() }, server.clock, server.deps.log);
    const deps: Deps = { ...server.deps, limits: deadLimits };
    const origin = { ip: '192.0.2.7', userAgent: 'test' };
    try {
      const before = { users: await countRows(server, 'users'), sessions: await countRows(server, 'sessions'), counters: await countRows(server, 'rate_limit_counters'), codes: await countRows(server, 'sms_codes') };
      await assert.rejects(performPasswordStep(deps, { email: admin.email, password: PASSWORD }, origin), LimitsUnavailableError);
      await assert.rejects(signUpAccount(deps, { accountName: 'Domain', name: 'Dom', email: uniqueEmail('domain'), password: PASSWORD }, origin), LimitsUnavailableError);
      const phone = uniqueMobile();
      await assert.rejects(
        sendSMSCode(deps, { purpose: 'enrollment', subjectId: randomUUID(), userId: admin.userId }, { e164: phone, phoneHash: hmacHex(deps.keys.hashing, phone) }, { accountId: admin.accountId, origin }),
        LimitsUnavailableError,
      );
      assert.deepEqual({ users: await countRows(server, 'users'), sessions: await countRows(server, 'sessions'), counters: await countRows(server, 'rate_limit_counters'), codes: await countRows(server, 'sms_codes') }, before);
      assert.equal(textsTo(server, phone).length, 0);
    } finally {
      await deadLimits.close();
    }
  });
});
