/**
 * Redis for the limit suites: the machine's Redis at 127.0.0.1:6379 with a fresh key prefix per
 * test (deleted afterwards), and a throwaway redis-server a test can start and kill.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/server.ts';

/** The failure reaches the caller through the rejected connect(); the event would only repeat it on stderr. */
function ignoreErrorEvent(): void {}

export const SHARED_REDIS_URL = process.env.TWOFOLD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Why the shared Redis cannot be used, or false when it answers. */
export async function sharedRedisSkipReason(): Promise<string | false> {
  const client = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: () => null });
  client.on('error', ignoreErrorEvent);
  try {
    await client.connect();
    await client.ping();
    return false;
  } catch (error) {
    return `Redis not available at ${SHARED_REDIS_URL} (${error instanceof Error ? error.message : String(error)}); its runs are skipped`;
  } finally {
    client.disconnect();
  }
}

export function redisServerSkipReason(): string | false {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return found.status === 0 ? false : 'no redis-server binary on PATH';
}

export function uniqueKeyPrefix(): string {
  return `twofold-test:${randomBytes(6).toString('hex')}:`;
}

/** A plain client on the shared Redis, for looking at and removing a test's keys. */
export function inspectRedis(url = SHARED_REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

export async function keysWithPrefix(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

export async function deleteKeysWithPrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await keysWithPrefix(client, prefix);
  if (keys.length > 0) await client.del(...keys);
}

export interface OwnRedis {
  url: string;
  port: number;
  process: ChildProcess;
  /** SIGKILL, as a crash or a lost host would look; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** A redis-server of the test's own, keeping nothing on disk; resolves once it answers PING. */
export async function startOwnRedis(port?: number): Promise<OwnRedis> {
  const chosen = port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${chosen}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; ; attempt += 1) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null });
    probe.on('error', ignoreErrorEvent);
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (attempt >= 100 || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on port ${chosen} did not start: ${error instanceof Error ? error.message : String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      probe.disconnect();
    }
  }
  return {
    url,
    port: chosen,
    process: child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
