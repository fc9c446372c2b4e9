/**
 * `twofold oidc …` run as an operator would (PRODUCT.md §2.13): a real process per command on
 * each database. The secret is printed once and stored only as a hash (rule 40); every change
 * is in the security log as `oidc_client_changed`; bad input exits 2 with one clear line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hashToken } from '../../src/crypto/tokens.ts';
import { redirectURIProblem } from '../../src/oidc/clients.ts';
import { openStorage, type Storage } from '../../src/storage/database.ts';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';
import { TEST_ENCRYPTION_KEY } from '../helpers/server.ts';

const bin = fileURLToPath(new URL('../../bin/twofold.js', import.meta.url));

it('accepts only absolute redirect URIs without fragment or credentials, https in production', () => {
  assert.equal(redirectURIProblem('https://app.example.com/callback', true), null);
  assert.equal(redirectURIProblem('http://127.0.0.1:3001/callback', false), null);
  assert.match(redirectURIProblem('http://app.example.com/callback', true)!, /https in production/);
  for (const uri of ['/callback', 'app.example.com/callback', 'https://app.example.com/cb#x', 'https://user:pw@app.example.com/cb', 'javascript:alert(1)']) assert.ok(redirectURIProblem(uri, false), uri);
});

for (const target of await databaseTargets()) {
  describe(`twofold oidc [${target.kind}]`, { skip: target.skip }, () => {
    let database: TestDatabase;
    let storage: Storage;
    const run = (args: string[], input?: string) =>
      spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn', DATABASE_URL: database.url }, input, encoding: 'utf8', timeout: 60_000 });
    before(async () => {
      database = await createTestDatabase(target.kind);
      const created = run(['create-account', '--account-name', 'Ops', '--name', 'Olga', '--email', 'olga@example.com', '--password-stdin'], 'a long enough password\n');
      assert.equal(created.status, 0, created.stderr);
      storage = openStorage(database.url);
    });
    after(async () => {
      await storage.close();
      await database.drop();
    });

    it('adds a client, printing its secret once, lists it without the secret and removes it, each in the security log', async () => {
      const added = run(['oidc', 'add-client', '--name', 'Acme App', '--redirect-uri', 'http://127.0.0.1:3001/callback', '--backchannel-logout-uri', 'http://127.0.0.1:3001/backchannel-logout', '--require-2fa']);
      assert.equal(added.status, 0, added.stderr);
      const printed = JSON.parse(added.stdout) as { client_id: string; client_secret: string };
      assert.deepEqual(Object.keys(printed).sort(), ['client_id', 'client_secret']);
      const stored = await storage.db.selectFrom('oidc_clients').select('metadata').where('client_id', '=', printed.client_id).executeTakeFirstOrThrow();
      assert.ok(!stored.metadata.includes(printed.client_secret), 'the secret is not stored');
      assert.equal(JSON.parse(stored.metadata).client_secret, hashToken(printed.client_secret), 'only its hash');

      const listed = run(['oidc', 'list-clients']);
      assert.equal(listed.status, 0, listed.stderr);
      assert.ok(!listed.stdout.includes(printed.client_secret));
      const clients = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
      const mine = clients.find((client) => client.clientId === printed.client_id)!;
      assert.deepEqual({ name: mine.name, redirectURIs: mine.redirectURIs, require2FA: mine.require2FA, public: mine.public }, { name: 'Acme App', redirectURIs: ['http://127.0.0.1:3001/callback'], require2FA: true, public: false });

      const publicClient = JSON.parse(run(['oidc', 'add-client', '--name', 'SPA', '--redirect-uri', 'http://127.0.0.1:3002/cb', '--public']).stdout) as Record<string, string>;
      assert.deepEqual(Object.keys(publicClient), ['client_id'], 'a public client has no secret');

      const removed = run(['oidc', 'remove-client', '--client-id', printed.client_id]);
      assert.equal(removed.status, 0, removed.stderr);
      assert.equal(await storage.db.selectFrom('oidc_clients').select('client_id').where('client_id', '=', printed.client_id).executeTakeFirst(), undefined);
      const events = await storage.db.selectFrom('security_events').select(['detail', 'actor_kind']).where('type', '=', 'oidc_client_changed').execute();
      assert.deepEqual(events.map((event) => JSON.parse(event.detail).change).sort(), ['added', 'added', 'removed']);
      assert.ok(events.every((event) => event.actor_kind === 'support' && !event.detail.includes(printed.client_secret)));
    });

    it('refuses bad input with exit status 2 and one line, and changes nothing', async () => {
      const before = (await storage.db.selectFrom('oidc_clients').select('client_id').execute()).length;
      for (const args of [
        ['oidc', 'add-client', '--name', 'X', '--redirect-uri', 'not a url'],
        ['oidc', 'add-client', '--name', 'X'],
        ['oidc', 'add-client', '--redirect-uri', 'http://127.0.0.1/cb'],
        ['oidc', 'add-client', '--name', 'X', '--redirect-uri', 'http://127.0.0.1/cb#fragment'],
        ['oidc', 'remove-client', '--client-id', 'nobody'],
        ['oidc', 'remove-client'],
        ['oidc', 'frobnicate'],
      ]) {
        const answer = run(args);
        assert.equal(answer.status, 2, `${args.join(' ')}: ${answer.stderr}`);
        assert.match(answer.stderr, /^twofold: /, args.join(' '));
      }
      assert.equal((await storage.db.selectFrom('oidc_clients').select('client_id').execute()).length, before);
    });

    it('rotates the signing key, keeping the previous one published', async () => {
      const rotated = run(['oidc', 'rotate-keys']);
      assert.equal(rotated.status, 0, rotated.stderr);
      const printed = JSON.parse(rotated.stdout) as { signing_kid: string; still_published: string[] };
      assert.equal(printed.still_published.length, 1);
      const keys = await storage.db.selectFrom('oidc_signing_keys').select(['kid', 'retired_at', 'private_jwk_encrypted']).execute();
      assert.equal(keys.length, 2);
      assert.equal(keys.find((key) => key.kid === printed.signing_kid)?.retired_at, null);
      assert.ok(keys.every((key) => key.private_jwk_encrypted.startsWith('v1.') && !key.private_jwk_encrypted.includes('"d"')), 'encrypted at rest (rule 40)');
    });
  });
}
