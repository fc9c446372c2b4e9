import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, signUp, waitFor } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('security log', (context) => {
  it('records logins, failures and invitations with time, actor, subject, IP and user agent', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    await api.post('/login', { email: admin.email, password: 'wrong password' }, { headers: { 'user-agent': 'TestAgent/1.0' } });
    await logIn(api, admin.email);
    const invited = await inviteAndAccept(server, api, admin.token);
    const log = await api.get('/account/security-log', { token: admin.token });
    assert.equal(log.status, 200);
    const types = log.body.events.map((e: { type: string }) => e.type);
    assert.ok(types.includes('login_failed') && types.includes('login_succeeded') && types.includes('user_invited'), types.join());
    const failed = log.body.events.find((e: { type: string }) => e.type === 'login_failed');
    assert.equal(failed.userAgent, 'TestAgent/1.0');
    assert.equal(failed.ip, '127.0.0.1');
    assert.equal(failed.subject.email, admin.email);
    assert.ok(!Number.isNaN(Date.parse(failed.at)));
    const invite = log.body.events.find((e: { type: string }) => e.type === 'user_invited');
    assert.equal(invite.actor.userId, admin.userId);
    assert.equal(invite.subject.userId, invited.userId);
  });

  it('filters by event type and by user, and pages newest first with a cursor', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (let i = 0; i < 55; i += 1) {
      server.clock.advance(1000);
      await api.post('/login', { email: admin.email, password: `wrong ${i}` });
      if (i % 9 === 8) server.clock.advance(15 * 60_000); // stay under the failed-password lock
    }
    const first = await api.get('/account/security-log?type=login_failed', { token: admin.token });
    assert.equal(first.body.events.length, 50);
    assert.ok(first.body.nextCursor);
    const second = await api.get(`/account/security-log?type=login_failed&cursor=${first.body.nextCursor}`, { token: admin.token });
    assert.equal(second.body.events.length, 5);
    assert.equal(second.body.nextCursor, null);
    const all = [...first.body.events, ...second.body.events];
    assert.equal(new Set(all.map((e) => e.id)).size, 55, 'no event twice');
    const times = all.map((e) => Date.parse(e.at));
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
    const byUser = await api.get(`/account/security-log?userId=${admin.userId}&type=login_failed`, { token: admin.token });
    assert.equal(byUser.body.events.length, 50);
    const badType = await api.get('/account/security-log?type=made_up', { token: admin.token });
    assert.equal(badType.status, 400);
  });

  it('exports CSV with formula cells defused', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    await api.post('/login', { email: admin.email, password: 'wrong' }, { headers: { 'user-agent': '=HYPERLINK("http://evil")' } });
    // login_failed is written just after the answer (rule 31).
    await waitFor(async () => (await server.deps.db.selectFrom('security_events').select('id').where('subject_user_id', '=', admin.userId).where('type', '=', 'login_failed').execute()).length === 1);
    const csv = await request(server.url, 'GET', '/api/v1/account/security-log.csv', undefined, { token: admin.token });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0], 'id,type,at,actor_kind,actor_email,subject_email,ip,user_agent,detail');
    assert.ok(lines.some((line) => line.includes(`"'=HYPERLINK(""http://evil"")"`)), csv.text);
  });

  it('shows an admin only their own account and refuses plain users', async () => {
    const { api, server } = context();
    const mine = await signUp(api);
    const theirs = await signUp(api);
    await api.post('/login', { email: theirs.email, password: 'wrong' });
    const log = await api.get(`/account/security-log?userId=${theirs.userId}`, { token: mine.token });
    assert.equal(log.status, 200);
    assert.equal(log.body.events.length, 0);
    const user = await inviteAndAccept(server, api, mine.token);
    const login = await logIn(api, user.email);
    assert.equal((await api.get('/account/security-log', { token: login.token })).status, 403);
    assert.equal((await api.get('/account/security-log.csv', { token: login.token })).status, 403);
  });
});
