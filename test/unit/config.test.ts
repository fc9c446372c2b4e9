import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, describeConfiguration, loadConfig } from '../../src/config.ts';

const KEY = Buffer.alloc(32, 1).toString('base64');

describe('configuration', () => {
  it('uses the documented defaults: port 3000, loopback, SQLite under ./data, PUBLIC_URL from the port', () => {
    const config = loadConfig({ ENCRYPTION_KEY: KEY });
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.databaseURL, 'sqlite:./data/twofold.db');
    assert.equal(config.publicURL.toString(), 'http://localhost:3000/');
    assert.equal(config.production, false);
    assert.equal(config.policy.failedPasswordsPerEmail, 10);
    assert.equal(config.policy.sessionIdleMs, 12 * 3_600_000);
    assert.equal(config.policy.sessionAbsoluteMs, 7 * 24 * 3_600_000);
  });

  const refusals: Array<[string, Record<string, string>, RegExp]> = [
    ['a non-numeric port', { PORT: 'eighty', ENCRYPTION_KEY: KEY }, /PORT must be a whole number/],
    ['a port out of range', { PORT: '70000', ENCRYPTION_KEY: KEY }, /PORT must be between/],
    ['an unknown database scheme', { DATABASE_URL: 'mysql://x', ENCRYPTION_KEY: KEY }, /DATABASE_URL must be sqlite/],
    ['a relative PUBLIC_URL', { PUBLIC_URL: 'example.com', ENCRYPTION_KEY: KEY }, /PUBLIC_URL must be an absolute/],
    ['a short encryption key', { ENCRYPTION_KEY: 'c2hvcnQ=' }, /ENCRYPTION_KEY must be 32 bytes/],
    ['production without a key', { NODE_ENV: 'production', SMTP_URL: 'smtp://x' }, /ENCRYPTION_KEY is required in production/],
    ['production without SMTP', { NODE_ENV: 'production', ENCRYPTION_KEY: KEY }, /SMTP_URL is required in production/],
    // Rule 25: a production cookie must be Secure, which needs the https:// that users see.
    ['production over http:// (rule 25)', { NODE_ENV: 'production', ENCRYPTION_KEY: KEY, SMTP_URL: 'smtp://x', PUBLIC_URL: 'http://twofold.example' }, /^PUBLIC_URL must start with https:\/\/ in production/],
    ['production with the default http://localhost PUBLIC_URL (rule 25)', { NODE_ENV: 'production', ENCRYPTION_KEY: KEY, SMTP_URL: 'smtp://x' }, /^PUBLIC_URL must start with https:\/\/ in production/],
    ['a database pool of no connections', { DATABASE_POOL_SIZE: '0', ENCRYPTION_KEY: KEY }, /DATABASE_POOL_SIZE must be between 1 and 1000/],
    ['a database pool size that is not a number', { DATABASE_POOL_SIZE: 'ten', ENCRYPTION_KEY: KEY }, /DATABASE_POOL_SIZE must be/],
    ['a boolean that is neither', { SIGNUP_ENABLED: 'maybe', ENCRYPTION_KEY: KEY }, /SIGNUP_ENABLED must be true or false/],
  ];
  for (const [name, env, message] of refusals) {
    it(`refuses ${name} with a message that names the variable`, () => {
      assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && message.test(error.message));
    });
  }

  it('accepts every TRUSTED_PROXIES form Fastify understands: addresses, CIDR ranges, netmasks and range names (rule 2)', () => {
    const entries = ['127.0.0.1', '10.0.0.0/8', '192.168.1.0/255.255.255.0', '::1', 'fd00::/8', 'loopback', 'linklocal', 'uniquelocal'];
    assert.deepEqual(loadConfig({ ENCRYPTION_KEY: KEY, TRUSTED_PROXIES: entries.join(' , ') }).trustedProxies, entries);
  });

  it('refuses a TRUSTED_PROXIES entry that is no address or range, naming the entry (rule 2)', () => {
    for (const entry of ['garbage', '10.0.0.0/33', '::/129', '10.0.0.1/8/8', '300.1.1.1', 'example.com']) {
      assert.throws(() => loadConfig({ ENCRYPTION_KEY: KEY, TRUSTED_PROXIES: `127.0.0.1,${entry}` }), (error: unknown) => error instanceof ConfigError && error.message.startsWith('TRUSTED_PROXIES') && error.message.includes(`"${entry}"`), entry);
    }
  });

  it('accepts the NODE_ENV values development, test and production, and refuses any other', () => {
    assert.equal(loadConfig({ ENCRYPTION_KEY: KEY, NODE_ENV: 'test' }).production, false);
    assert.equal(loadConfig({ ENCRYPTION_KEY: KEY, NODE_ENV: 'development' }).production, false);
    for (const value of ['prod', 'Production', 'staging', 'dev']) {
      assert.throws(() => loadConfig({ ENCRYPTION_KEY: KEY, NODE_ENV: value }), (error: unknown) => error instanceof ConfigError && error.message.startsWith('NODE_ENV'), value);
    }
  });

  it('does not print the database password when it refuses a DATABASE_URL', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://user:hunter2@host/db', ENCRYPTION_KEY: KEY }), (error: unknown) => error instanceof Error && !error.message.includes('hunter2'));
  });

  it('documents every option with its default', () => {
    const lines = describeConfiguration();
    for (const name of ['PORT', 'HOST', 'PUBLIC_URL', 'DATABASE_URL', 'ENCRYPTION_KEY', 'SMTP_URL', 'TRUSTED_PROXIES']) {
      assert.ok(lines.some((line) => line.startsWith(`${name} (default`)), name);
    }
  });
});
