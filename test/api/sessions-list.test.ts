/** A user's own sessions (PRODUCT.md §2.11, §3 `/me/sessions`): list, sign out one, sign out every other. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { logIn, signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { securityEvents } from '../helpers/two-factor.ts';

const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

forEachDatabase('the sessions list', (context) => {
  it('lists the user\'s sessions with browser, system, IP and times, marks the current one, and never shows a token or its hash', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const chrome = await api.post('/login', { email: admin.email, password: 'correct horse battery' }, { headers: { 'user-agent': CHROME_MAC } });
    const firefox = await api.post('/login', { email: admin.email, password: 'correct horse battery' }, { headers: { 'user-agent': FIREFOX_WINDOWS } });
    const listed = await api.get('/me/sessions', { token: chrome.body.token });
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.headers.get('cache-control'), 'no-store');
    const sessions = listed.body.sessions as Array<Record<string, unknown>>;
    assert.equal(sessions.length, 3, 'sign-up, Chrome and Firefox');
    const current = sessions.filter((session) => session.current);
    assert.equal(current.length, 1);
    assert.deepEqual([current[0]!.browser, current[0]!.os], ['Chrome', 'macOS']);
    assert.ok(sessions.some((session) => session.browser === 'Firefox' && session.os === 'Windows' && !session.current));
    for (const session of sessions) {
      assert.deepEqual(Object.keys(session).sort(), ['browser', 'createdAt', 'current', 'id', 'ip', 'lastSeenAt', 'os']);
      assert.equal(session.ip, '127.0.0.1');
      assert.ok(!Number.isNaN(Date.parse(session.createdAt as string)));
    }
    const hashes = (await server.deps.db.selectFrom('sessions').select('token_hash').where('user_id', '=', admin.userId).execute()).map((row) => row.token_hash);
    for (const secret of [chrome.body.token, firefox.body.token, admin.token, ...hashes]) assert.ok(!listed.text.includes(secret), 'no token or hash in the list');
  });

  it('signs out one session by its id (its token stops at once, the others stay), logged as session_revoked', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const other = await logIn(api, admin.email);
    const sessions = (await api.get('/me/sessions', { token: admin.token })).body.sessions as Array<{ id: string; current: boolean }>;
    const target = sessions.find((session) => !session.current)!;
    const removed = await api.delete(`/me/sessions/${target.id}`, undefined, { token: admin.token });
    assert.equal(removed.status, 204, removed.text);
    assert.equal((await api.get('/me', { token: other.token })).status, 401);
    assert.equal((await api.get('/me', { token: admin.token })).status, 200);
    assert.equal((await securityEvents(server, admin.userId, 'session_revoked')).length, 1);
    assert.equal((await api.delete(`/me/sessions/${target.id}`, undefined, { token: admin.token })).status, 404, 'gone already');
  });

  it('answers 404 for another user\'s session id, a made-up id and a malformed one, and signs nobody out', async () => {
    const { api, server } = context();
    const alice = await signUp(api);
    const bob = await signUp(api);
    const bobsSession = ((await api.get('/me/sessions', { token: bob.token })).body.sessions as Array<{ id: string }>)[0]!;
    const refused = await api.delete(`/me/sessions/${bobsSession.id}`, undefined, { token: alice.token });
    assert.equal(refused.status, 404, refused.text);
    assert.equal(refused.body.error, 'not_found');
    assert.equal((await api.get('/me', { token: bob.token })).status, 200, 'Bob is still signed in');
    assert.equal((await api.delete('/me/sessions/00000000-0000-4000-8000-000000000000', undefined, { token: alice.token })).status, 404);
    assert.equal((await api.delete(`/me/sessions/${'x'.repeat(65)}`, undefined, { token: alice.token })).status, 400);
    assert.equal((await api.delete('/me/sessions/%00', undefined, { token: alice.token })).status, 400);
    assert.equal((await securityEvents(server, alice.userId, 'session_revoked')).length, 0);
    assert.equal((await api.get('/me/sessions')).status, 401, 'no session, no list');
  });

  it('"sign out other sessions" ends every other session of the user and keeps this one', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const others = [await logIn(api, admin.email), await logIn(api, admin.email)];
    const stranger = await signUp(api);
    const ended = await api.delete('/me/sessions', undefined, { token: admin.token });
    assert.equal(ended.status, 204, ended.text);
    for (const other of others) assert.equal((await api.get('/me', { token: other.token })).status, 401);
    assert.equal((await api.get('/me', { token: admin.token })).status, 200);
    assert.equal((await api.get('/me', { token: stranger.token })).status, 200, 'another user keeps theirs');
    const listed = (await api.get('/me/sessions', { token: admin.token })).body.sessions as Array<{ current: boolean }>;
    assert.deepEqual(listed.map((session) => session.current), [true]);
    const [event] = await securityEvents(server, admin.userId, 'session_revoked');
    assert.deepEqual(JSON.parse(event!.detail), { sessions: 2, others: true });
  });

  it('signing out the same session from two requests at once succeeds once', async () => {
    const { api } = context();
    const admin = await signUp(api);
    await logIn(api, admin.email);
    const target = ((await api.get('/me/sessions', { token: admin.token })).body.sessions as Array<{ id: string; current: boolean }>).find((session) => !session.current)!;
    const answers = await Promise.all(Array.from({ length: 6 }, () => api.delete(`/me/sessions/${target.id}`, undefined, { token: admin.token })));
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [204, 404, 404, 404, 404, 404]);
  });
});
