/**
 * Several instances serve one issuer (PRODUCT.md §2.13; issue 14): all provider state is in the
 * database, so a code issued by one instance is exchanged at another, the refresh token it
 * yields is rotated at a third request, and instances starting together make one signing key.
 * Two apps with their own connections, providers and keys in memory, one database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { authorizationRequest, callbackOf, REDIRECT_URI, registerClient, signInThroughPages, tokenRequest, verifyAgainstJWKS } from '../helpers/oidc.ts';
import { createTestDatabase, databaseTargets } from '../helpers/databases.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { systemClock } from '../../src/clock.ts';
import { loadSigningKeys, rotateSigningKeys } from '../../src/oidc/signing-keys.ts';
import { openStorage } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';

for (const target of await databaseTargets()) {
  describe(`OpenID Connect on two instances of one database [${target.kind}]`, { skip: target.skip }, () => {
    let first: TestServer;
    let second: TestServer;
    before(async () => {
      const database = await createTestDatabase(target.kind);
      first = await startTestServer(target.kind, { database });
      second = await startTestServer(target.kind, { database, env: { PUBLIC_URL: first.url } });
    });
    after(async () => {
      await second?.close();
      await first?.close();
      await first?.database.drop();
    });

    it('makes one signing key for instances that start together', async () => {
      const fresh = await createTestDatabase(target.kind);
      const storages = [openStorage(fresh.url), openStorage(fresh.url), openStorage(fresh.url)];
      try {
        await migrateToLatest(storages[0]!.db);
        const loaded = await Promise.all(storages.map((storage) => loadSigningKeys(storage.db, systemClock, first.deps.keys)));
        assert.equal(new Set(loaded.map((keys) => keys[0]!.kid)).size, 1, 'every instance signs with the same key');
        assert.equal((await storages[0]!.db.selectFrom('oidc_signing_keys').select('kid').execute()).length, 1);
      } finally {
        for (const storage of storages) await storage.close();
        await fresh.drop();
      }
    });

    it('publishes the same key from both instances', async () => {
      const keys = await first.deps.db.selectFrom('oidc_signing_keys').select('kid').execute();
      assert.equal(keys.length, 1);
      const fromFirst = (await (await fetch(`${first.url}/oidc/jwks`)).json()) as { keys: Array<{ kid: string }> };
      const fromSecond = (await (await fetch(`${second.url}/oidc/jwks`)).json()) as { keys: Array<{ kid: string }> };
      assert.deepEqual(fromFirst.keys.map((key) => key.kid), [keys[0]!.kid]);
      assert.deepEqual(fromSecond.keys.map((key) => key.kid), [keys[0]!.kid]);
    });

    it('exchanges at one instance a code issued by the other, and refreshes there', async () => {
      const user = await signUp(apiClient(first.url));
      const client = await registerClient(first);
      const attempt = await authorizationRequest(client, { scope: 'openid email offline_access' });
      const callback = callbackOf(await signInThroughPages(first, new FormSession(first), attempt, user.email, PASSWORD));
      const exchanged = await tokenRequest(second.url, client, { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: attempt.verifier });
      assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
      const { payload } = await verifyAgainstJWKS(first, exchanged.body.id_token);
      assert.equal(payload.iss, first.url);
      assert.equal(payload.sub, user.userId);
      const refreshed = await tokenRequest(first.url, client, { grant_type: 'refresh_token', refresh_token: exchanged.body.refresh_token });
      assert.equal(refreshed.status, 200);
      const reused = await tokenRequest(second.url, client, { grant_type: 'refresh_token', refresh_token: exchanged.body.refresh_token });
      assert.equal(reused.body.error, 'invalid_grant', 'the rotated-out refresh token is refused at the other instance too');
    });
  
    it('publishes the new key first and keeps the previous one after rotate-keys and a restart', async () => {
      const before = await first.deps.db.selectFrom('oidc_signing_keys').select('kid').execute();
      const rotated = await rotateSigningKeys(first.deps.db, systemClock, first.deps.keys);
      const restarted = await startTestServer(target.kind, { database: first.database, env: { PUBLIC_URL: first.url } });
      try {
        const published = (await (await fetch(`${restarted.url}/oidc/jwks`)).json()) as { keys: Array<{ kid: string }> };
        assert.deepEqual(published.keys.map((key) => key.kid), [rotated.kid, ...before.map((key) => key.kid)]);
      } finally {
        await restarted.close();
      }
    });
  });
}
