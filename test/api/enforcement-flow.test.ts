/** Account-wide enforcement end to end (PRODUCT.md §2.4), with an admin who really has 2FA. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { inviteAndAccept, logIn, PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

forEachDatabase('enforcing 2FA for an account', (context) => {
  it('turns on for an admin with 2FA: logged, every user e-mailed, held sessions sent to setup, enrolling completes them', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const adminEnrolled = await enrollAuthenticatorApp(server, api, admin.token);
    const user = await inviteAndAccept(server, api, adminEnrolled.token);
    const held = await logIn(api, user.email);

    const on = await api.patch('/account', { enforce2fa: true }, { token: adminEnrolled.token });
    assert.equal(on.status, 200, on.text);
    assert.equal(on.body.enforce2fa, true);
    const events = await server.deps.db.selectFrom('security_events').select('detail').where('type', '=', 'enforcement_changed').where('account_id', '=', admin.accountId).execute();
    assert.equal(events.length, 1);
    await waitFor(() => [admin.email, user.email].every((email) => server.outbox.list().some((m) => m.to === email && /now requires two-factor/.test(m.subject ?? ''))));

    const users = await api.get('/account/users', { token: adminEnrolled.token });
    assert.equal(users.body.withoutTwoFactor, 1);
    assert.equal((await api.get('/me', { token: adminEnrolled.token })).status, 200, 'the admin with 2FA is unaffected');
    assert.equal((await api.get('/me', { token: held.token })).body.error, 'enrollment_required');
    const refusedOff = await api.delete('/me/2fa', { password: PASSWORD }, { token: adminEnrolled.token });
    assert.equal(refusedOff.body.error, '2fa_enforced');

    const enrolled = await enrollAuthenticatorApp(server, api, held.token);
    assert.equal((await api.get('/me', { token: enrolled.token })).status, 200, 'confirming a factor lets the session through');
    assert.equal((await api.get('/account/users', { token: adminEnrolled.token })).body.withoutTwoFactor, 0);

    const fresh = await api.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(fresh.body.state, 'mfa_required');
    const verified = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, enrolled.secret) }, { token: fresh.body.token });
    assert.equal(verified.status, 200);
    void currentCode;
  });

  it('saves for an account of 100,000 users without per-user writes and queues one notice for each of them in the background', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const adminEnrolled = await enrollAuthenticatorApp(server, api, admin.token);
    const now = server.clock.now();
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ id: randomUUID(), account_id: admin.accountId, email: `bulk-${i}-${randomUUID().slice(0, 8)}@example.com`, name: `Bulk ${i}`, role: 'user' as const, active: 1, password_hash: null, created_at: now, last_login_at: null }));
    for (let i = 0; i < rows.length; i += 1000) await server.deps.db.insertInto('users').values(rows.slice(i, i + 1000)).execute();
    // Counted as the log grows: filtering 100,000 lines on every poll would take the event loop
    // from the server sending the notices.
    let scanned = 0;
    let noticeCount = 0;
    const notices = () => {
      for (; scanned < server.logLines.length; scanned += 1) {
        const line = server.logLines[scanned]!;
        if (line.includes('"outbox":true') && line.includes('now requires two-factor')) noticeCount += 1;
      }
      return noticeCount;
    };

    const before = notices();

    const on = await api.patch('/account', { enforce2fa: true }, { token: adminEnrolled.token });
    assert.equal(on.status, 200);
    const firstPage = await api.get('/account/users', { token: adminEnrolled.token });
    assert.equal(firstPage.body.withoutTwoFactor, 100_000);
    assert.equal(firstPage.body.users.length, 50, 'the first page of a large account is one page, not the account');
    assert.ok(firstPage.body.nextCursor);
    // The admin and 100,000 invited users, each exactly once, in the durable delivery queue (the
    // queue's own tests show that what it holds is delivered, once, also across instances and
    // crashes; here the worker has begun and the notices come out of it).
    const queued = async () => {
      const row = await server.deps.db
        .selectFrom('delivery_queue')
        .innerJoin('users', 'users.id', 'delivery_queue.user_id')
        .where('delivery_queue.kind', '=', 'enforcement_changed')
        .where('users.account_id', '=', admin.accountId)
        .select((eb) => [eb.fn.countAll<number>().as('messages'), eb.fn.count<number>('delivery_queue.user_id').distinct().as('users')])
        .executeTakeFirstOrThrow();
      return { messages: Number(row.messages), users: Number(row.users) };
    };
    await waitFor(async () => (await queued()).messages >= 100_001, 240_000);
    assert.deepEqual(await queued(), { messages: 100_001, users: 100_001 }, 'one notice per user, none twice');
    await waitFor(() => notices() - before >= 1_000, 240_000);
    const changed = await server.deps.db.selectFrom('users').select('id').where('account_id', '=', admin.accountId).execute();
    assert.equal(changed.length, 100_001, 'no per-user rows were written or lost');
  });
});
