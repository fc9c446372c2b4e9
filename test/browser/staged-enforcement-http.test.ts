/**
 * Staged enforcement on the pages over plain HTTP (FormSession), where exact statuses matter:
 * the Account Information form refuses a bad "Enforce from" or "Apply to" with a 400 page that
 * says why and changes nothing; the Users page filter "Without 2FA" lists the affected users only.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DAY_MS, formatDay } from '../../src/enforcement/staged-enforcement.ts';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { logInOverHTTP } from './two-factor-helpers.ts';
import { enrollAuthenticatorApp } from '../helpers/two-factor.ts';

function dayAhead(server: TestServer, days: number): string {
  return formatDay(Math.floor(server.clock.now() / DAY_MS) * DAY_MS + days * DAY_MS);
}

forEachDatabase('staged enforcement pages over HTTP', (context) => {
  it('refuses a bad "Enforce from" or "Apply to" with a 400 page saying why, and saves nothing', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = await logInOverHTTP(server, admin.email);
    const cases: Array<[Record<string, string>, RegExp | null]> = [
      [{ enforceFrom: dayAhead(server, -1), enforceFor: 'everyone' }, /must be a day after today/],
      [{ enforceFrom: dayAhead(server, 400), enforceFor: 'everyone' }, /at most 365 days ahead/],
      [{ enforceFrom: '31/12/2027', enforceFor: 'everyone' }, /YYYY-MM-DD/],
      [{ enforceFrom: '', enforceFor: 'nobody' }, null],
    ];
    for (const [fields, words] of cases) {
      const refused = await browser.post('/settings/account', fields);
      assert.equal(refused.status, 400, JSON.stringify(fields));
      if (words) assert.match(refused.text, words);
    }
    const policy = await server.deps.db.selectFrom('account_policies').select(['enforce_from', 'enforce_for']).where('account_id', '=', admin.accountId).executeTakeFirst();
    assert.equal(policy, undefined, 'no policy row was written');
    const day = dayAhead(server, 14);
    const saved = await browser.post('/settings/account', { enforceFrom: day, enforceFor: 'admins' });
    assert.equal(saved.status, 200, saved.text);
    assert.match(saved.text, new RegExp(`value="${day}"`));
    assert.match(saved.text, /<option value="admins" selected>Administrators only<\/option>/);
    const events = await server.deps.db.selectFrom('security_events').select('detail').where('type', '=', 'policy_changed').where('account_id', '=', admin.accountId).execute();
    assert.equal(events.length, 1);
    assert.match(events[0]!.detail, new RegExp(day));
  });

  it('filters the Users page to the users without 2FA, with the CSV link', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const adminApp = await enrollAuthenticatorApp(server, api, admin.token);
    const without = await inviteAndAccept(server, api, adminApp.token);
    const withApp = await inviteAndAccept(server, api, adminApp.token);
    await enrollAuthenticatorApp(server, api, (await logIn(api, withApp.email)).token);
    const browser = new FormSession(server);
    browser.setCookie('twofold_session', adminApp.token);
    const all = await browser.get('/settings/users');
    assert.ok(all.text.includes(withApp.email) && all.text.includes(without.email));
    const filtered = await browser.get('/settings/users?twoFactor=missing');
    assert.equal(filtered.status, 200);
    assert.ok(filtered.text.includes(without.email));
    assert.ok(!filtered.text.includes(withApp.email), 'a user with 2FA is not listed');
    assert.ok(!filtered.text.includes(`>${admin.email}<`), 'nor the admin who has the app');
    assert.match(filtered.text, /href="\/settings\/users.csv\?twoFactor=missing">Download CSV/);
    assert.equal((await browser.get('/settings/users?twoFactor=maybe')).status, 400);
  });
});
