/** REDIS_URL and REDIS_KEY_PREFIX: optional, validated at start, and the password never echoed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, describeConfiguration, loadConfig } from '../../src/config.ts';

const KEY = Buffer.alloc(32, 1).toString('base64');

describe('Redis configuration', () => {
  it('counts in the database when REDIS_URL is unset', () => {
    assert.equal(loadConfig({ ENCRYPTION_KEY: KEY }).redis, null);
  });

  it('reads REDIS_URL with the default key prefix "twofold:", or the one given', () => {
    assert.deepEqual(loadConfig({ ENCRYPTION_KEY: KEY, REDIS_URL: 'redis://127.0.0.1:6379/2' }).redis, { url: 'redis://127.0.0.1:6379/2', keyPrefix: 'twofold:' });
    assert.deepEqual(loadConfig({ ENCRYPTION_KEY: KEY, REDIS_URL: 'rediss://cache.internal:6380', REDIS_KEY_PREFIX: 'eu1:' }).redis, { url: 'rediss://cache.internal:6380', keyPrefix: 'eu1:' });
  });

  it('refuses a REDIS_URL that is not redis:// or rediss:// without printing its password', () => {
    assert.throws(
      () => loadConfig({ ENCRYPTION_KEY: KEY, REDIS_URL: 'http://user:hunter2@cache:6379' }),
      (error: unknown) => error instanceof ConfigError && /REDIS_URL/.test(error.message) && !error.message.includes('hunter2'),
    );
  });

  it('documents both options', () => {
    const lines = describeConfiguration();
    for (const name of ['REDIS_URL', 'REDIS_KEY_PREFIX']) assert.ok(lines.some((line) => line.startsWith(`${name} (default`)), name);
  });
});
