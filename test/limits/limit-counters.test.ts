/**
 * The limit counter stores' contract, run against both (the database and the machine's Redis
 * under a fresh key prefix): a hit counts atomically, also from two clients at once; a window
 * starts at its first hit and lapses; a give-back never goes below zero nor opens a window; and a
 * Redis that does not answer turns into LimitsUnavailableError (answered 503) instead of a wait.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/clock.ts';
import { HttpError } from '../../src/errors.ts';
import { databaseLimitCounters, LimitsUnavailableError, type LimitCounters } from '../../src/limits/limit-counters.ts';
import { redisLimitCounters } from '../../src/limits/redis-counters.ts';
import { openStorage, type Storage } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.ts';
import { freePort } from '../helpers/server.ts';
import { deleteKeysWithPrefix, inspectRedis, sharedRedisSkipReason, SHARED_REDIS_URL, uniqueKeyPrefix } from './redis-helpers.ts';

const silent = pino({ level: 'silent' });
const redisSkip = await sharedRedisSkipReason();

interface Backend {
  name: string;
  skip: string | false;
  /** Two stores on the same counters, as two instances would have. */
  open(): Promise<{ first: LimitCounters; second: LimitCounters; clock: ManualClock; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'database',
    skip: false,
    async open() {
      const database: TestDatabase = await createTestDatabase('sqlite');
      const storage: Storage = openStorage(database.url);
      await migrateToLatest(storage.db);
      const clock = new ManualClock();
      const counters = databaseLimitCounters(storage.db, clock);
      return { first: counters, second: counters, clock, close: async () => { await storage.close(); await database.drop(); } };
    },
  },
  {
    name: 'redis',
    skip: redisSkip,
    async open() {
      const keyPrefix = uniqueKeyPrefix();
      const clock = new ManualClock();
      // The contract here is counting, not speed: a generous command timeout keeps a loaded machine
      // from turning a slow burst into a 503 (the failure tests below keep the real timeout).
      const first = redisLimitCounters({ url: SHARED_REDIS_URL, keyPrefix, commandTimeoutMs: 5_000 }, clock, silent);
      const second = redisLimitCounters({ url: SHARED_REDIS_URL, keyPrefix, commandTimeoutMs: 5_000 }, clock, silent);
      await Promise.all([first.ready(), second.ready()]);
      return {
        first,
        second,
        clock,
        close: async () => {
          await first.close();
          await second.close();
          const inspector = inspectRedis();
          await deleteKeysWithPrefix(inspector, keyPrefix);
          inspector.disconnect();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`limit counters [${backend.name}]`, { skip: backend.skip }, () => {
    let stores: Awaited<ReturnType<Backend['open']>>;
    before(async () => {
      stores = await backend.open();
    });
    after(async () => {
      await stores?.close();
    });

    it('gives 200 concurrent hits from two clients the counts 1 to 200, each exactly once', async () => {
      const hits = await Promise.all(Array.from({ length: 200 }, (_, index) => (index % 2 === 0 ? stores.first : stores.second).hit('burst', 60_000)));
      assert.deepEqual(hits.map((state) => state.count).sort((a, b) => a - b), Array.from({ length: 200 }, (_, index) => index + 1));
    });

    it('reports when the window that started at the first hit ends, and does not move it on later hits', async () => {
      const first = await stores.first.hit('window', 60_000);
      assert.ok(first.resetsAt > stores.clock.now() && first.resetsAt <= stores.clock.now() + 60_000);
      const second = await stores.second.hit('window', 60_000);
      assert.equal(second.count, 2);
      assert.ok(second.resetsAt <= first.resetsAt, 'a later hit never extends the window');
    });

    it('gives a charge back without going below zero, and clears a counter', async () => {
      await stores.first.hit('undo', 60_000);
      await stores.first.undo('undo');
      await stores.first.undo('undo');
      assert.equal((await stores.first.hit('undo', 60_000)).count, 1, 'never below zero');
      await stores.first.undo('never-hit');
      assert.equal((await stores.first.hit('never-hit', 60_000)).count, 1, 'a give-back on a missing counter leaves nothing behind');
      await stores.first.hit('cleared', 60_000);
      await stores.first.clear('cleared');
      assert.equal((await stores.second.hit('cleared', 60_000)).count, 1);
    });
  });
}

describe('limit counters [redis] expiry and failure', { skip: redisSkip }, () => {
  it('forgets a count once its window has passed (Redis keeps no key without an expiry)', async () => {
    const keyPrefix = uniqueKeyPrefix();
    const counters = redisLimitCounters({ url: SHARED_REDIS_URL, keyPrefix }, new ManualClock(), silent);
    const inspector = inspectRedis();
    try {
      await counters.ready();
      assert.equal((await counters.hit('short', 200)).count, 1);
      assert.equal((await counters.hit('short', 200)).count, 2);
      const ttl = await inspector.pttl(`${keyPrefix}limit:short`);
      assert.ok(ttl > 0 && ttl <= 200, `PTTL ${ttl}`);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal((await counters.hit('short', 200)).count, 1);
    } finally {
      await counters.close();
      await deleteKeysWithPrefix(inspector, keyPrefix);
      inspector.disconnect();
    }
  });
});

describe('limit counters [redis] with nothing listening', () => {
  it('refuses with LimitsUnavailableError (a domain error; http/ answers 503 limits_unavailable) rather than waiting', async () => {
    const port = await freePort();
    const counters = redisLimitCounters({ url: `redis://127.0.0.1:${port}`, keyPrefix: uniqueKeyPrefix() }, new ManualClock(), silent);
    try {
      const started = Date.now();
      await assert.rejects(counters.hit('anything', 60_000), (error: unknown) => {
        assert.ok(error instanceof LimitsUnavailableError);
        assert.ok(!(error instanceof HttpError), 'the domain throws its own error, not an HTTP one');
        assert.ok(error.reason.length > 0, 'says why');
        assert.equal(error.retryAfterSeconds, 5);
        return true;
      });
      await assert.rejects(counters.floodGuardHit('anything', 60_000), LimitsUnavailableError);
      await assert.rejects(counters.clear('anything'), LimitsUnavailableError);
      await counters.undo('anything');
      assert.ok(Date.now() - started < 5_000, 'answered without waiting for a connection');
      await counters.ready();
      assert.ok(Date.now() - started < 15_000, 'a start with Redis down goes on (and answers 503) rather than waiting for it');
    } finally {
      await counters.close();
    }
  });
});
