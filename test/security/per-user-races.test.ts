/**
 * Per-user invariants under concurrent requests (issue 13 defects 5 and 6; SECURITY.md rules 6,
 * 16, 20, 21). Each of these read what the user had and then wrote, in a transaction that did not
 * serialise on the user: on PostgreSQL (READ COMMITTED) two requests both read the old state and
 * both wrote. Fired here as concurrent requests over real HTTP, on SQLite and PostgreSQL.
 *
 * - "Remove one of two methods", twice at once, must not remove both: exactly one succeeds and
 *   the other is refused as removing the last method (409 last_method) — a full disable is its
 *   own action (PRODUCT.md §2.5), with its own event, notice and enforcement check.
 * - Regenerating recovery codes voids the old set: of concurrent regenerations one set works.
 * - A disable link and a reset link are newest-only: of concurrent requests one link works.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { regenerateRecoveryCodes } from '../../src/factors/recovery-codes/regenerate.ts';
import { recordLogin } from '../../src/users/users.ts';
import { PASSWORD, waitFor } from '../helpers/fixtures.ts';
import { apiClient, type APIClient } from '../helpers/http.ts';
import type { TestServer } from '../helpers/server.ts';
import { enrollSMS } from '../helpers/sms.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, passwordStep, securityEvents } from '../helpers/two-factor.ts';
import { adminAndEnrolledUser, mailsTo, startSecondInstance, userWithApp } from './rules/helpers.ts';

/** Every token e-mailed to `to` in a link whose path contains `pathPart`, oldest first. */
function linkTokensTo(server: TestServer, to: string, pathPart: string): string[] {
  const pattern = new RegExp(`${pathPart.replace(/\//g, '\\/')}([A-Za-z0-9_-]+)`);
  return server.outbox
    .list()
    .filter((m) => m.channel === 'email' && m.to === to && m.body.includes(pathPart))
    .map((m) => pattern.exec(m.body)?.[1])
    .filter((token): token is string => token !== undefined);
}

/** How many of the tokens a link page would still accept (GET changes nothing, rule 22). */
async function usableLinks(server: TestServer, pagePath: string, tokens: string[]): Promise<number> {
  const pages = await Promise.all(tokens.map((token) => fetch(`${server.url}${pagePath}${token}`)));
  await Promise.all(pages.map((page) => page.text()));
  return pages.filter((page) => page.status === 200).length;
}

async function factorKinds(server: TestServer, userId: string): Promise<string[]> {
  return (await server.deps.db.selectFrom('factors').select('kind').where('user_id', '=', userId).execute()).map((row) => row.kind).sort();
}

/** A user with the app and SMS on, holding a complete, recent session. */
async function userWithTwoMethods(server: TestServer, api: APIClient): Promise<{ userId: string; email: string; accountId: string; token: string; secret: string }> {
  const user = await userWithApp(server, api);
  const sms = await enrollSMS(server, api, user.token);
  return { ...user, token: sms.token };
}

const ROUNDS = 4;

forEachDatabase('per-user races (issue 13 defects 5 and 6)', (context) => {
  describe('rules 6, 20: removing "one of two methods" twice at once removes exactly one', () => {
    it('concurrent DELETE /me/2fa/methods/totp and /sms: one 204, one 409 last_method, one method left, one event, one notice', async () => {
      const { api, server } = context();
      for (let round = 0; round < ROUNDS; round += 1) {
        const user = await userWithTwoMethods(server, api);
        const answers = await Promise.all(['totp', 'sms'].map((method) => api.delete(`/me/2fa/methods/${method}`, { password: PASSWORD }, { token: user.token })));
        const statuses = answers.map((a) => a.status).sort();
        assert.deepEqual(statuses, [204, 409], `round ${round}: ${answers.map((a) => `${a.status} ${a.body?.error ?? ''}`).join(', ')}`);
        assert.equal(answers.find((a) => a.status === 409)!.body.error, 'last_method');
        assert.equal((await factorKinds(server, user.userId)).length, 1, `round ${round}: exactly one method stays on`);
        assert.equal((await securityEvents(server, user.userId, 'factor_removed')).length, 1);
        await waitFor(() => mailsTo(server, user.email, /second factor was removed/).length >= 1);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(mailsTo(server, user.email, /second factor was removed/).length, 1, 'one "your other method stays on" notice');
        assert.equal((await api.get('/me', { token: user.token })).status, 200, 'the session stays: the user still has 2FA');
      }
    });

    it('also while the account enforces 2FA: the user is never left without a factor', async () => {
      const { api, server } = context();
      for (let round = 0; round < ROUNDS; round += 1) {
        const admin = await userWithTwoMethods(server, api);
        assert.equal((await api.patch('/account', { enforce2fa: true }, { token: admin.token })).status, 200);
        const answers = await Promise.all(['sms', 'totp'].map((method) => api.delete(`/me/2fa/methods/${method}`, { password: PASSWORD }, { token: admin.token })));
        assert.deepEqual(answers.map((a) => a.status).sort(), [204, 409], `round ${round}`);
        assert.equal((await factorKinds(server, admin.userId)).length, 1);
      }
    });
  });

  describe('rules 6, 16: regenerating recovery codes voids the old set, also under concurrency', () => {
    it('six concurrent regenerations leave exactly one returned set working', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const answers = await Promise.all(Array.from({ length: 6 }, () => api.post('/me/2fa/recovery-codes', undefined, { token: user.token })));
      assert.ok(answers.every((a) => a.status === 200), answers.map((a) => a.status).join());
      const rows = await server.deps.db.selectFrom('recovery_codes').select('id').where('user_id', '=', user.userId).execute();
      assert.equal(rows.length, 10, `${rows.length} recovery codes stored: more than one set survived`);
      // Through the login: the first code of each returned set, one login each.
      let working = 0;
      for (const answer of answers) {
        const half = await passwordStep(api, user.email);
        const verified = await api.post('/login/verify', { method: 'recovery', code: answer.body.recoveryCodes[0] }, { token: half });
        if (verified.status === 200) working += 1;
      }
      assert.equal(working, 1, `${working} of the six returned sets work`);
    });
  });

  describe('rules 6, 21: "newest link only" holds under concurrency', () => {
    it('three concurrent disable-link requests leave exactly one usable link', async () => {
      const { api, server } = context();
      for (let round = 0; round < 2; round += 1) {
        const { admin, user } = await adminAndEnrolledUser(server, api);
        const answers = await Promise.all(Array.from({ length: 3 }, () => api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: admin.token })));
        assert.ok(answers.every((a) => a.status === 202), answers.map((a) => a.status).join());
        await waitFor(() => linkTokensTo(server, user.email, '/2fa/disable/').length === 3);
        const open = await server.deps.db.selectFrom('links').select('token_hash').where('user_id', '=', user.userId).where('kind', '=', 'disable_2fa').where('consumed_at', 'is', null).execute();
        assert.equal(open.length, 1, `round ${round}: ${open.length} disable links outstanding`);
        assert.equal(await usableLinks(server, '/2fa/disable/', linkTokensTo(server, user.email, '/2fa/disable/')), 1);
      }
    });

    it('concurrent forgot-password requests leave exactly one usable reset link', async () => {
      const { api, server } = context();
      for (let round = 0; round < ROUNDS; round += 1) {
        const user = await userWithApp(server, api);
        const answers = await Promise.all(Array.from({ length: 3 }, () => api.post('/password/forgot', { email: user.email })));
        assert.ok(answers.every((a) => a.status === 202));
        await waitFor(() => linkTokensTo(server, user.email, '/password/reset/').length === 3);
        const open = await server.deps.db.selectFrom('links').select('token_hash').where('user_id', '=', user.userId).where('kind', '=', 'password_reset').where('consumed_at', 'is', null).execute();
        assert.equal(open.length, 1, `round ${round}: ${open.length} reset links outstanding`);
        assert.equal(await usableLinks(server, '/password/reset/', linkTokensTo(server, user.email, '/password/reset/')), 1);
      }
    });
  });

  it('two instances on one database: concurrent regenerations and link requests split across them leave one set and one link', async () => {
    const { api, server } = context();
    const second = await startSecondInstance(server);
    try {
      const other = apiClient(second.url);
      const { admin, user, token } = await adminAndEnrolledUser(server, api);
      const clients = [api, other, api, other, api, other];
      const regenerated = await Promise.all(clients.map((client) => client.post('/me/2fa/recovery-codes', undefined, { token })));
      assert.ok(regenerated.every((a) => a.status === 200), regenerated.map((a) => a.status).join());
      const codes = await server.deps.db.selectFrom('recovery_codes').select('id').where('user_id', '=', user.userId).execute();
      assert.equal(codes.length, 10, `${codes.length} recovery codes stored`);
      const sent = await Promise.all(clients.slice(0, 3).map((client) => client.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: admin.token })));
      assert.ok(sent.every((a) => a.status === 202), sent.map((a) => a.status).join());
      const open = await server.deps.db.selectFrom('links').select('token_hash').where('user_id', '=', user.userId).where('kind', '=', 'disable_2fa').where('consumed_at', 'is', null).execute();
      assert.equal(open.length, 1, `${open.length} disable links outstanding`);
    } finally {
      await second.close();
    }
  });

  it('the per-user lock never waits behind a completing login that waits for it (PostgreSQL: no deadlock)', async (t) => {
    const { api, server } = context();
    if (server.database.kind !== 'postgres') return t.skip('SQLite runs one transaction at a time');
    const user = await userWithApp(server, api);
    const db = server.deps.db;
    // A login's transaction, held open between its two writes: it has spent a recovery code and
    // will record the login on the user's row last (login/second-step.ts, completed-login.ts).
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let codeSpent!: () => void;
    const spent = new Promise<void>((resolve) => (codeSpent = resolve));
    const login = db.transaction().execute(async (trx) => {
      await trx.updateTable('recovery_codes').set({ used_at: server.clock.now() }).where('user_id', '=', user.userId).where('used_at', 'is', null).execute();
      codeSpent();
      await released;
      await recordLogin(trx, server.clock, user.userId);
    });
    await spent;
    // Takes the per-user lock, then waits for the login's code rows.
    const regeneration = regenerateRecoveryCodes(server.deps, { userId: user.userId, accountId: user.accountId }, { ip: null, userAgent: null });
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    // A row lock on the user would make this a deadlock: PostgreSQL aborts one of the two.
    const [loginOutcome, regenerated] = await Promise.allSettled([login, regeneration]);
    assert.equal(loginOutcome.status, 'fulfilled', loginOutcome.status === 'rejected' ? String(loginOutcome.reason) : '');
    assert.equal(regenerated.status, 'fulfilled', regenerated.status === 'rejected' ? String(regenerated.reason) : '');
  });

  it('a single regeneration, link and removal still work as before (no lock left behind)', async () => {
    const { api, server } = context();
    const user = await userWithTwoMethods(server, api);
    assert.equal((await api.post('/me/2fa/recovery-codes', undefined, { token: user.token })).status, 200);
    assert.equal((await api.delete('/me/2fa/methods/sms', { password: PASSWORD }, { token: user.token })).status, 204);
    assert.equal((await api.delete('/me/2fa/methods/totp', { password: PASSWORD }, { token: user.token })).status, 409);
    const again = await enrollAuthenticatorApp(server, api, user.token);
    assert.ok(again.recoveryCodes.length === 10);
  });
});
