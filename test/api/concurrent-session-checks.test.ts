/**
 * Session checks that arrive together (on PostgreSQL they share one query, storage/coalesced-read.ts):
 * each answers for its own session, and a session signed out before the burst is refused in it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { logIn, signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('concurrent session checks', (context) => {
  it('40 checks at once each answer for their own user, and the signed-out sessions among them are refused', async () => {
    const { api } = context();
    const users = await Promise.all(Array.from({ length: 4 }, () => signUp(api)));
    const sessions = [] as Array<{ token: string; email: string; signedOut: boolean }>;
    for (const user of users) {
      sessions.push({ token: user.token, email: user.email, signedOut: false });
      for (let index = 0; index < 4; index += 1) sessions.push({ token: (await logIn(api, user.email)).token, email: user.email, signedOut: false });
    }
    for (const session of sessions.filter((_, index) => index % 5 === 3)) {
      assert.equal((await api.post('/logout', undefined, { token: session.token })).status, 204);
      session.signedOut = true;
    }
    const burst = [...sessions, ...sessions];
    const answers = await Promise.all(burst.map((session) => api.get('/me', { token: session.token })));
    answers.forEach((answer, index) => {
      const session = burst[index]!;
      if (session.signedOut) assert.equal(answer.status, 401, answer.text);
      else {
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.body.user.email, session.email);
      }
    });
  });
});
