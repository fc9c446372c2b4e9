/**
 * The limit counters in Redis (REDIS_URL), shared by every instance that points at the same
 * Redis and key prefix. Each hit is one Lua script — INCR, then PEXPIRE only when the key has no
 * expiry yet — so the count and the fixed window are one atomic step: concurrent requests on
 * any number of instances each get a distinct count, and the window starts at its first hit.
 *
 * A Redis that is down or slow must never hang a request or let it through unlimited: the
 * client has no offline queue, does not retry a command, and gives each command 500 ms; any
 * failure becomes LimitsUnavailableError (503 limits_unavailable, Retry-After), and the client
 * keeps reconnecting in the background so service resumes by itself.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.ts';
import type { CounterState } from './counters.ts';
import { LimitsUnavailableError, type FloodGuardHit, type LimitCounters } from './limit-counters.ts';

export interface RedisSettings {
  url: string;
  /** Put before every key, so several deployments (or tests) can share one Redis. */
  keyPrefix: string;
  /**
   * How long one command may take before the limits answer 503 (default 500 ms). Tests of the
   * counting contract raise it: on a machine loaded by a whole test suite a burst of 200 commands
   * can outlast 500 ms without anything being wrong with the counting.
   */
  commandTimeoutMs?: number;
}

export interface RedisLimitLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Longest a request waits on Redis before it is answered 503. */
const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;

// Returns {count, milliseconds left in the window}.
const hitScript = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

// DECR keeps the key's expiry; a missing or zero key is left alone (no key without a window).
const undoScript = `
local count = tonumber(redis.call('GET', KEYS[1]))
if count and count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
`;

interface LimitScripts {
  twofoldLimitHit(key: string, windowMs: number): Promise<[number, number]>;
  twofoldLimitUndo(key: string): Promise<number>;
}

export interface RedisLimitCounters extends LimitCounters {
  readonly backend: 'redis';
  /** The coarse per-IP flood guard counts on the same client and prefix, under `flood:`. */
  floodGuardHit(key: string, windowMs: number): Promise<FloodGuardHit>;
}

/**
 * ioredis is loaded only when REDIS_URL is set (issue #18: a server without Redis never needs its
 * ~0.25 MB of code). require() from node_modules keeps the start synchronous; the compiled build
 * leaves it out of the bundle (esbuild does not follow a require made by createRequire).
 */
const requireFromPackages = createRequire(import.meta.url);

function createRedisClient(url: string, commandTimeoutMs: number): Redis {
  const { Redis: RedisClient } = requireFromPackages('ioredis') as typeof import('ioredis');
  return new RedisClient(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Never give up: once Redis is back, the limits answer again without a restart.
    retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
  });
}

export function redisLimitCounters(settings: RedisSettings, clock: Clock, log: RedisLimitLog): RedisLimitCounters {
  const redis = createRedisClient(settings.url, settings.commandTimeoutMs ?? COMMAND_TIMEOUT_MS);
  redis.defineCommand('twofoldLimitHit', { numberOfKeys: 1, lua: hitScript });
  redis.defineCommand('twofoldLimitUndo', { numberOfKeys: 1, lua: undoScript });
  const scripts = redis as Redis & LimitScripts;
  const limitKey = (key: string): string => `${settings.keyPrefix}limit:${key}`;

  // One line when the connection goes and one when it is back, not one per reconnect attempt.
  let connected = false;
  let closing = false;
  redis.on('ready', () => {
    if (!connected) log.info({ redis: 'ready' }, 'Redis for rate limits is connected');
    connected = true;
  });
  redis.on('error', (error: Error) => {
    if (connected) log.warn({ redis: 'error', err: error.message }, 'Redis for rate limits is unreachable; limited requests answer 503 until it is back');
    connected = false;
  });
  redis.on('close', () => {
    if (connected && !closing) log.warn({ redis: 'closed' }, 'Redis for rate limits closed the connection; limited requests answer 503 until it is back');
    connected = false;
  });

  async function hitWithTTL(fullKey: string, windowMs: number): Promise<FloodGuardHit> {
    try {
      const [count, ttlMs] = await scripts.twofoldLimitHit(fullKey, Math.max(1, Math.round(windowMs)));
      return { count: Number(count), ttlMs: Number(ttlMs) };
    } catch (error) {
      throw new LimitsUnavailableError(error instanceof Error ? error.message : String(error));
    }
  }

  return {
    backend: 'redis',
    async hit(key, windowMs): Promise<CounterState> {
      const { count, ttlMs } = await hitWithTTL(limitKey(key), windowMs);
      return { count, resetsAt: clock.now() + ttlMs };
    },
    async undo(key) {
      try {
        await scripts.twofoldLimitUndo(limitKey(key));
      } catch (error) {
        log.warn({ redis: 'undo_failed', err: error instanceof Error ? error.message : String(error) }, 'a rate-limit charge could not be given back; it lapses with its window');
      }
    },
    async clear(key) {
      try {
        await redis.del(limitKey(key));
      } catch (error) {
        throw new LimitsUnavailableError(error instanceof Error ? error.message : String(error));
      }
    },
    async ready() {
      if (redis.status === 'ready') return;
      const connectedOrGaveUp = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => finish(false), CONNECT_TIMEOUT_MS + 1_000);
        function finish(ok: boolean): void {
          clearTimeout(timer);
          redis.off('ready', onReady);
          resolve(ok);
        }
        function onReady(): void {
          finish(true);
        }
        redis.on('ready', onReady);
      });
      if (!connectedOrGaveUp) log.warn({ redis: 'unreachable' }, 'Redis for rate limits is not reachable yet; limited requests answer 503 until it is');
    },
    async answers() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      closing = true;
      redis.disconnect();
    },
    floodGuardHit(key, windowMs) {
      return hitWithTTL(`${settings.keyPrefix}flood:${key}`, windowMs);
    },
  };
}
