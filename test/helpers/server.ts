/**
 * A real Twofold server for tests: real database (see databases.ts), real HTTP on a free
 * loopback port, a manual clock the test can move, the development outbox for delivery, and
 * the log captured so tests can look for leaked secrets.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createPasswordHasher, type Argon2Cost } from '../../src/crypto/password-hasher.ts';
import type { Outbox } from '../../src/delivery/outbox.ts';
import type { Deps } from '../../src/deps.ts';
import { createDeps, loggerOptions } from '../../src/server.ts';
import { openStorage } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { createMigratedTestDatabase, type DatabaseKind, type TestDatabase } from './databases.ts';

export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface TestServer {
  url: string;
  origin: string;
  app: FastifyInstance;
  deps: Deps;
  clock: ManualClock;
  config: Config;
  outbox: Outbox;
  database: TestDatabase;
  /** Every log line the server wrote, as text. */
  logLines: string[];
  close(): Promise<void>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  /** Reuse a database (two servers on one database); otherwise a fresh one is made and dropped. */
  database?: TestDatabase;
  /**
   * Hash passwords at the production cost (OWASP argon2id, ~15-25 ms of CPU each) instead of
   * TEST_PASSWORD_COST: for tests that compare answer times (SECURITY.md rule 31), where an
   * unknown email must cost what a real verification costs.
   */
  productionPasswordCost?: boolean;
  /** PUBLIC_URL's host: `localhost` where security keys are needed (an IP address cannot be a relying party ID). */
  publicHost?: 'localhost';
}

/**
 * What test servers hash passwords with unless a test asks for the production cost: argon2id
 * with 1 MiB and one pass, ~0.4 ms instead of ~15-25 ms. No other test depends on the cost
 * (the hasher's own parameters and admission control are unit-tested on the real hasher), and
 * the suite hashes and verifies a few thousand passwords. Child `twofold serve` processes
 * always hash at the production cost: nothing but this helper can lower it.
 */
const TEST_PASSWORD_COST: Argon2Cost = { memoryCost: 1024, timeCost: 1 };

export async function startTestServer(kind: DatabaseKind, options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createMigratedTestDatabase(kind));
  const port = await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    PUBLIC_URL: `http://${options.publicHost ?? '127.0.0.1'}:${port}`,
    DATABASE_URL: database.url,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'info',
    PASSWORD_HASH_QUEUE: '1000',
    REQUESTS_PER_MINUTE_PER_IP: '1000000',
    ...options.env,
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter((line) => line.length > 0));
      done();
    },
  });
  const log = pino(loggerOptions('info'), sink);
  const storage = openStorage(config.databaseURL);
  await migrateToLatest(storage.db);
  const clock = new ManualClock(Date.now());
  const deps = createDeps(config, storage, log, clock);
  if (!options.productionPasswordCost) deps.hasher = createPasswordHasher(config.policy.passwordHashConcurrency, config.policy.passwordHashQueue, TEST_PASSWORD_COST);
  const app = await buildApp(deps, { logger: log });
  await app.listen({ port, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    origin: config.publicURL.origin,
    app,
    deps,
    clock,
    config,
    outbox: deps.delivery.outbox!,
    database,
    logLines,
    close: async () => {
      await app.close();
      await storage.close();
      if (!options.database) await database.drop();
    },
  };
}
