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
import type { Outbox } from '../../src/delivery/outbox.ts';
import type { Deps } from '../../src/deps.ts';
import { createDeps, loggerOptions } from '../../src/server.ts';
import { openStorage } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.ts';

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
  /** PUBLIC_URL's host: `localhost` where security keys are needed (an IP address cannot be a relying party ID). */
  publicHost?: 'localhost';
}

export async function startTestServer(kind: DatabaseKind, options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase(kind));
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
