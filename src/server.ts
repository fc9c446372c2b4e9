/**
 * Starting and stopping the service: configuration, storage, migrations, the app, listening,
 * and a graceful shutdown on SIGTERM/SIGINT (stop accepting, finish requests, close the pool).
 */
import pino from 'pino';
import { buildApp } from './app.ts';
import { systemClock, type Clock } from './clock.ts';
import { ConfigError, type Config } from './config.ts';
import { deriveKeys } from './crypto/keys.ts';
import { createDelivery } from './delivery/delivery.ts';
import { countMessages } from './delivery/queue/queue-store.ts';
import type { Deps } from './deps.ts';
import { databaseLimitCounters } from './limits/limit-counters.ts';
import { redisLimitCounters } from './limits/redis-counters.ts';
import { createMetrics } from './metrics/metrics.ts';
import { createPasswordHasher } from './crypto/password-hasher.ts';
import { openStorage, type Storage } from './storage/database.ts';
import { checkEncryptionKeys } from './storage/key-check.ts';
import { relyingPartyOf } from './factors/webauthn/relying-party.ts';
import { migrateToLatest } from './storage/migrate.ts';
import { startSweeping } from './maintenance/sweep.ts';
import { startStagedNotices } from './enforcement/staged-notices.ts';

/** Field paths pino blanks out, whatever a log line carries. */
export const redactedLogPaths = ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'password', '*.password', 'token', '*.token', 'code', '*.code'];

/** Link tokens travel as the last path segment; a logged URL shows where, never the token. */
export function scrubTokensFromURL(url: string): string {
  return url.replace(/\/[A-Za-z0-9_-]{32,}(?=[/?#]|$)/g, '/[token]').replace(/([?&](?:token|code|cursor)=)[^&#]*/gi, '$1[redacted]');
}

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
}

/** pino options shared by the server and the tests that capture its log. */
export function loggerOptions(level: string): pino.LoggerOptions {
  return {
    level,
    redact: { paths: redactedLogPaths, censor: '[redacted]' },
    serializers: {
      req: (request: LoggedRequest) => ({ method: request.method, url: scrubTokensFromURL(request.url), ip: request.ip }),
    },
  };
}

export function createLogger(config: Config): pino.Logger {
  return pino(loggerOptions(config.logLevel));
}

export function createDeps(config: Config, storage: Storage, log: pino.Logger, clock: Clock = systemClock): Deps {
  const keys = deriveKeys(config.encryptionKey, config.previousEncryptionKeys);
  const metrics = createMetrics({ withDefaults: config.metricsToken !== null });
  metrics.countDeliveryQueueWith(() => countMessages(storage.db));
  return {
    db: storage.db,
    clock,
    config,
    keys,
    hasher: createPasswordHasher(config.policy.passwordHashConcurrency, config.policy.passwordHashQueue),
    delivery: createDelivery(config, clock, log, { db: storage.db, keys, observe: (channel, outcome) => metrics.deliveryAttempt(channel, outcome) }),
    limits: config.redis ? redisLimitCounters(config.redis, clock, log) : databaseLimitCounters(storage.db, clock),
    metrics,
    log,
  };
}

/**
 * Refuses to start (one line, naming the variables) when neither ENCRYPTION_KEY nor any of
 * PREVIOUS_ENCRYPTION_KEYS opens the key-check value stored at first start: otherwise the
 * wrong key would show only as a 500 at some user's code step.
 */
async function refuseWrongEncryptionKey(config: Config, storage: Storage, deps: Deps): Promise<void> {
  if ((await checkEncryptionKeys(storage.db, deps.keys, deps.clock.now())) !== 'wrong_key') return;
  await storage.close();
  const where = config.developmentKeyPath ? ` (ENCRYPTION_KEY is not set, so the generated development key in ${config.developmentKeyPath} was used)` : '';
  throw new ConfigError(
    `ENCRYPTION_KEY does not open what this database stores${where}: set ENCRYPTION_KEY to the key it was written with, or, after changing keys, put the old key in PREVIOUS_ENCRYPTION_KEYS and run twofold rotate-key`,
  );
}

export async function serve(config: Config): Promise<void> {
  const log = createLogger(config);
  // A connection the database server ends (a restart, a failover) is dropped and replaced; the
  // operator sees it in the log rather than only as failed requests.
  const onConnectionLost = (error: Error): void => log.warn({ code: (error as { code?: string }).code }, `database connection lost: ${error.message}`);
  const storage = openStorage(config.databaseURL, onConnectionLost, { poolSize: config.databasePoolSize });
  const { applied } = await migrateToLatest(storage.db);
  if (applied.length > 0) log.info({ applied }, 'database migrated');
  const deps = createDeps(config, storage, log);
  await refuseWrongEncryptionKey(config, storage, deps);
  if (deps.delivery.outbox) {
    log.warn({}, '*** DEVELOPMENT MODE: e-mails and texts go to the in-memory outbox at /dev/outbox, not to anyone. Set SMTP_URL (and NODE_ENV=production) for real delivery. ***');
  }
  if (config.developmentKeyPath) {
    // The real path: the key sits beside the SQLite file, which need not be in ./data.
    const keyPath = config.developmentKeyPath;
    log.warn({ keyPath }, `*** ENCRYPTION_KEY is not set: using the generated development key ${keyPath}. Set ENCRYPTION_KEY in production; moving to it from this key is a key rotation (this key in PREVIOUS_ENCRYPTION_KEYS, then twofold rotate-key). ***`);
  }
  const relyingParty = relyingPartyOf(config.publicURL);
  if (!relyingParty.offered) log.warn({}, relyingParty.why);
  const app = await buildApp(deps, { logger: log });
  await app.listen({ port: config.port, host: config.host });
  const stopSweeping = startSweeping(storage.db, deps.clock, config.policy, log);
  // Staged-enforcement reminders (7 days and 1 day before the date), each once across instances.
  const stopStagedNotices = startStagedNotices(deps, log);
  log.info({ url: config.publicURL.toString(), database: storage.dialect }, 'Twofold is ready');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, drainSeconds: config.shutdownDrainMs / 1000 }, 'shutting down');
    stopSweeping();
    stopStagedNotices();
    // A rolling deploy must never hang on a browser's keep-alive connection: idle connections
    // close now, and requests still running get SHUTDOWN_DRAIN_SECONDS before theirs close too.
    app.server.closeIdleConnections();
    const drained = setTimeout(() => {
      log.warn({}, 'shutdown drain time over: closing the connections still open');
      app.server.closeAllConnections();
    }, config.shutdownDrainMs);
    drained.unref();
    // Whatever else might hold the process (a database that does not answer), it ends soon after.
    setTimeout(() => process.exit(1), config.shutdownDrainMs + 10_000).unref();
    await app.close();
    clearTimeout(drained);
    deps.delivery.close();
    await storage.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
