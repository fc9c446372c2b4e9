/**
 * PATCH /account/policy is all-or-nothing (PRODUCT.md §3), on SQLite and PostgreSQL: a change
 * naming the allowed methods, staged enforcement and the trusted-browser days is checked whole
 * before anything is saved and saved in one transaction. A refused field in one group leaves the
 * other groups as they were, and a write that fails half way (a fault injected into the
 * security-log insert of the last group) leaves nothing half saved.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { DAY_MS, formatDay } from '../../src/enforcement/staged-enforcement.ts';
import { signUp } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp } from '../helpers/two-factor.ts';

const DEFAULTS = { allowedMethods: ['totp', 'sms', 'webauthn'], requirePhishingResistant: false, enforceFrom: null, enforceFor: 'everyone', trustedBrowserDays: 30 };

function dayAhead(server: TestServer, days: number): string {
  return formatDay(Math.floor(server.clock.now() / DAY_MS) * DAY_MS + days * DAY_MS);
}

async function policyEvents(server: TestServer, accountId: string): Promise<number> {
  const rows = await server.deps.db.selectFrom('security_events').select('id').where('type', '=', 'policy_changed').where('account_id', '=', accountId).execute();
  return rows.length;
}

/** Makes the security-log insert of any policy change that sets the trusted-browser days fail. */
async function injectFailureOnDaysEvent(server: TestServer, kind: string): Promise<() => Promise<void>> {
  const db = server.deps.db;
  if (kind === 'sqlite') {
    await sql`CREATE TRIGGER fail_days_event BEFORE INSERT ON security_events WHEN NEW.type = 'policy_changed' AND NEW.detail LIKE '%trustedBrowserDays%' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`.execute(db);
    return async () => void (await sql`DROP TRIGGER fail_days_event`.execute(db));
  }
  await sql`CREATE FUNCTION fail_days_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.type = 'policy_changed' AND NEW.detail LIKE '%trustedBrowserDays%' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$`.execute(db);
  await sql`CREATE TRIGGER fail_days_event BEFORE INSERT ON security_events FOR EACH ROW EXECUTE FUNCTION fail_days_event()`.execute(db);
  return async () => {
    await sql`DROP TRIGGER fail_days_event ON security_events`.execute(db);
    await sql`DROP FUNCTION fail_days_event()`.execute(db);
  };
}

forEachDatabase('account policy changes are all-or-nothing', (context) => {
  it('a refused field in one group leaves the other groups unchanged', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { token } = await enrollAuthenticatorApp(server, api, admin.token);
    const valid = { allowedMethods: ['totp'], enforceFrom: dayAhead(server, 10), enforceFor: 'admins', trustedBrowserDays: 7 };
    // The admin has no security key (409), then a date in the past (400): each refusal saves none of the valid fields beside it.
    const noKey = await api.patch('/account/policy', { ...valid, requirePhishingResistant: true }, { token });
    assert.equal(noKey.status, 409, noKey.text);
    const pastDate = await api.patch('/account/policy', { ...valid, enforceFrom: dayAhead(server, -1) }, { token });
    assert.equal(pastDate.status, 400, pastDate.text);
    const policy = await api.get('/account/policy', { token });
    assert.deepEqual({ ...policy.body, affectedUsers: undefined, usersWithoutTwoFactor: undefined }, { ...DEFAULTS, affectedUsers: undefined, usersWithoutTwoFactor: undefined });
    assert.equal(await policyEvents(server, admin.accountId), 0, 'nothing logged');

    // The same fields accepted are saved together, answered from one read, and logged once.
    const saved = await api.patch('/account/policy', valid, { token });
    assert.equal(saved.status, 200, saved.text);
    assert.deepEqual(saved.body, { ...DEFAULTS, ...valid, affectedUsers: 0, usersWithoutTwoFactor: 0 });
    assert.deepEqual((await api.get('/account/policy', { token })).body, saved.body);
    assert.equal(await policyEvents(server, admin.accountId), 1, 'one change, one security-log entry');
  });

  it('a write failing half way saves none of the groups', async () => {
    const { api, server, kind } = context();
    const admin = await signUp(api);
    const { token } = await enrollAuthenticatorApp(server, api, admin.token);
    const removeFault = await injectFailureOnDaysEvent(server, kind);
    try {
      const failed = await api.patch('/account/policy', { allowedMethods: ['totp'], enforceFrom: dayAhead(server, 10), trustedBrowserDays: 7 }, { token });
      assert.equal(failed.status, 500, failed.text);
    } finally {
      await removeFault();
    }
    const policy = await api.get('/account/policy', { token });
    assert.deepEqual(policy.body.allowedMethods, DEFAULTS.allowedMethods, 'the methods were not saved');
    assert.equal(policy.body.enforceFrom, null, 'nor the date');
    assert.equal(policy.body.trustedBrowserDays, 30, 'nor the days');
    assert.equal(await policyEvents(server, admin.accountId), 0);
  });
});
