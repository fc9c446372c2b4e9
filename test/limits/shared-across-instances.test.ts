/**
 * With REDIS_URL set, the per-IP limits and the SMS caps count in Redis and hold in total across
 * instances (issue 7): two Twofold instances on one database, each with its own Deps and Redis
 * client, share the machine's Redis under a key prefix of their own, and concurrent bursts spread
 * over both get exactly the configured number through. Each test has its own prefix, removed
 * afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';
import { inviteAndAccept, logIn, PASSWORD, signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { apiClient, type APIClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { textsTo, uniqueMobile } from '../helpers/sms.ts';
import { deleteKeysWithPrefix, inspectRedis, keysWithPrefix, sharedRedisSkipReason, SHARED_REDIS_URL, uniqueKeyPrefix } from './redis-helpers.ts';

const redisSkip = await sharedRedisSkipReason();
// Several instances share PostgreSQL in production; SQLite stands in where it is missing.
const kind = (await databaseTargets()).some((target) => target.kind === 'postgres' && !target.skip) ? 'postgres' : 'sqlite';

interface Instances {
  servers: [TestServer, TestServer];
  apis: [APIClient, APIClient];
  prefix: string;
  redis: Redis;
}

// One database for the file (every test uses fresh emails and numbers); a Redis prefix per test.
let database: TestDatabase | null = null;

/** Runs `body` against two instances sharing the database and a new Redis prefix, then removes both. */
async function withTwoInstances(env: Record<string, string>, body: (instances: Instances) => Promise<void>): Promise<void> {
  const prefix = uniqueKeyPrefix();
  const shared = { REDIS_URL: SHARED_REDIS_URL, REDIS_KEY_PREFIX: prefix, ...env };
  const redis = inspectRedis();
  if (!database) throw new Error('the database is made before the tests');
  const a = await startTestServer(kind, { database, env: shared });
  let b: TestServer | null = null;
  try {
    b = await startTestServer(kind, { database, env: shared });
    assert.equal(a.deps.limits.backend, 'redis');
    assert.notEqual(a.deps.limits, b.deps.limits, 'each instance has its own client');
    await body({ servers: [a, b], apis: [apiClient(a.url), apiClient(b.url)], prefix, redis });
  } finally {
    await b?.close();
    await a.close();
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  }
}

/** Sends request i of a burst to instance i % 2. */
function spread<T>(count: number, apis: [APIClient, APIClient], send: (api: APIClient, index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => send(apis[index % 2]!, index)));
}

function statuses(responses: { status: number }[]): string {
  return responses.map((response) => response.status).join(',');
}

async function databaseCounterKeys(server: TestServer, keyStart: string): Promise<string[]> {
  const rows = await server.deps.db.selectFrom('rate_limit_counters').select('key').where('key', 'like', `${keyStart}%`).execute();
  return rows.map((row) => row.key);
}

describe(`limits shared through Redis by two instances [${kind}]`, { skip: redisSkip }, () => {
  before(async () => {
    database = await createTestDatabase(kind);
  });
  after(async () => {
    await database?.drop();
  });

  it('refuses failed passwords from one IP beyond FAILED_PASSWORDS_PER_IP in total across both instances, also at once', async () => {
    await withTwoInstances({ FAILED_PASSWORDS_PER_IP: '6', FAILED_PASSWORDS_PER_EMAIL: '1000' }, async ({ servers, apis, prefix, redis }) => {
      const burst = await spread(20, apis, (api) => api.post('/login', { email: uniqueEmail('nobody'), password: 'wrong password' }));
      assert.equal(burst.filter((r) => r.status === 401).length, 6, statuses(burst));
      const refused = burst.filter((r) => r.status !== 401);
      assert.equal(refused.length, 14);
      for (const response of refused) {
        assert.equal(response.status, 429);
        assert.equal(response.body.error, 'too_many_attempts');
        assert.ok(Number(response.headers.get('retry-after')) > 0);
      }
      const ipKeys = await keysWithPrefix(redis, `${prefix}limit:pw-ip:`);
      assert.equal(ipKeys.length, 1);
      assert.equal(await redis.get(ipKeys[0]!), '6', 'refused attempts gave their charge back');
      assert.deepEqual(await databaseCounterKeys(servers[0], 'pw-ip:'), [], 'the per-IP count is not in the database');
      const emailCounts = await servers[0].deps.db.selectFrom('rate_limit_counters').select('count').where('key', 'like', 'pw-email:%').execute();
      assert.equal(emailCounts.reduce((sum, row) => sum + Number(row.count), 0), 6, 'per-email counts stay in the database');
    });
  });

  it('accepts sign-ups from one IP up to SIGNUPS_PER_IP_PER_HOUR in total across both instances, also at once', async () => {
    await withTwoInstances({ SIGNUPS_PER_IP_PER_HOUR: '4' }, async ({ apis }) => {
      const burst = await spread(10, apis, (api) => api.post('/signup', { accountName: 'Burst', name: 'Bo', email: uniqueEmail('burst'), password: PASSWORD }));
      assert.equal(burst.filter((r) => r.status === 201).length, 4, statuses(burst));
      assert.ok(burst.every((r) => r.status === 201 || (r.status === 429 && r.body.error === 'rate_limited')), statuses(burst));
    });
  });

  it('rule 44: twelve forgot-password requests at once for one address, spread over both instances, send exactly 3 e-mails, counted in Redis', async () => {
    await withTwoInstances({}, async ({ servers, apis, prefix, redis }) => {
      const admin = await signUp(apis[0]);
      const burst = await spread(12, apis, (api) => api.post('/password/forgot', { email: admin.email }));
      assert.ok(burst.every((r) => r.status === 202), statuses(burst));
      const resets = () => [...servers[0].outbox.list(), ...servers[1].outbox.list()].filter((m) => m.to === admin.email && m.body.includes('/password/reset/')).length;
      const deadline = Date.now() + 5000;
      while (resets() < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(resets(), 3);
      assert.equal((await keysWithPrefix(redis, `${prefix}limit:reset-email:`)).length, 1);
      assert.deepEqual(await databaseCounterKeys(servers[0], 'reset-'), [], 'the caps are not in the database');
    });
  });

  it('texts one number at most 5 times an hour across both instances, even when 12 accounts ask at once', async () => {
    await withTwoInstances({}, async ({ servers, apis, prefix, redis }) => {
      const accounts = await spread(12, apis, (api) => signUp(api));
      const phone = uniqueMobile();
      const burst = await spread(12, apis, (api, index) => api.post('/me/2fa/sms', { phone }, { token: accounts[index]!.token }));
      assert.equal(burst.filter((r) => r.status === 202).length, 5, statuses(burst));
      assert.ok(burst.every((r) => r.status === 202 || (r.status === 429 && r.body.error === 'rate_limited')), statuses(burst));
      assert.equal(textsTo(servers[0], phone).length + textsTo(servers[1], phone).length, 5);
      const capKeys = await keysWithPrefix(redis, `${prefix}limit:sms-`);
      assert.ok(capKeys.length > 0);
      for (const key of capKeys) {
        const ttl = await redis.pttl(key);
        assert.ok(ttl > 0 && ttl <= 3_600_000, `${key} lapses with its hour (PTTL ${ttl})`);
      }
      assert.deepEqual(await databaseCounterKeys(servers[0], 'sms-'), [], 'the caps are not in the database');
    });
  });

  it('texts for one account at most 20 times an hour across both instances, when its 5 users ask 25 times at once', async () => {
    await withTwoInstances({}, async ({ servers, apis }) => {
      const admin = await signUp(apis[0]);
      const invited = await Promise.all(Array.from({ length: 4 }, () => inviteAndAccept(servers[0], apis[0], admin.token)));
      const tokens = [admin.token, ...(await Promise.all(invited.map(async (user, index) => (await logIn(apis[(index + 1) % 2]!, user.email)).token)))];
      const phones = Array.from({ length: 25 }, uniqueMobile);
      // Users at once, each user's numbers one after another (a user has one pending phone).
      const perUser = await Promise.all(
        tokens.map(async (token, user) => {
          const answers = [];
          for (let i = 0; i < 5; i += 1) answers.push(await apis[(user + i) % 2]!.post('/me/2fa/sms', { phone: phones[user * 5 + i] }, { token }));
          return answers;
        }),
      );
      const burst = perUser.flat();
      assert.equal(burst.filter((r) => r.status === 202).length, 20, statuses(burst));
      assert.ok(burst.every((r) => r.status === 202 || (r.status === 429 && r.body.error === 'rate_limited')), statuses(burst));
      const sent = phones.reduce((sum, phone) => sum + textsTo(servers[0], phone).length + textsTo(servers[1], phone).length, 0);
      assert.equal(sent, 20);
    });
  });

  it('texts at most SMS_PER_IP_PER_HOUR times for one client IP across both instances, also at once', async () => {
    await withTwoInstances({ SMS_PER_IP_PER_HOUR: '3' }, async ({ servers, apis }) => {
      const accounts = await spread(8, apis, (api) => signUp(api));
      const phones = Array.from({ length: 8 }, uniqueMobile);
      const burst = await spread(8, apis, (api, index) => api.post('/me/2fa/sms', { phone: phones[index] }, { token: accounts[index]!.token }));
      assert.equal(burst.filter((r) => r.status === 202).length, 3, statuses(burst));
      const sent = phones.reduce((sum, phone) => sum + textsTo(servers[0], phone).length + textsTo(servers[1], phone).length, 0);
      assert.equal(sent, 3);
    });
  });

  it('counts the coarse flood guard in Redis too, under the same prefix', async () => {
    await withTwoInstances({ REQUESTS_PER_MINUTE_PER_IP: '10' }, async ({ apis, prefix, redis }) => {
      const burst = await spread(16, apis, (api) => api.get('/openapi.json'));
      assert.equal(burst.filter((r) => r.status === 200).length, 10, statuses(burst));
      assert.ok(burst.every((r) => r.status === 200 || (r.status === 429 && r.body.error === 'rate_limited')), statuses(burst));
      assert.equal((await keysWithPrefix(redis, `${prefix}flood:`)).length, 1);
    });
  });
});
