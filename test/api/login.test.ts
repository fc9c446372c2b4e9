import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PASSWORD, signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('password login', (context) => {
  it('signs up, then logs in with the password and reads /me with the bearer token', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const login = await api.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal(login.status, 200);
    assert.equal(login.body.state, 'authenticated');
    assert.deepEqual(login.body.methods, []);
    assert.notEqual(login.body.token, admin.token, 'each login issues a new token');
    const me = await api.get('/me', { token: login.body.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, admin.email);
    assert.equal(me.body.user.role, 'admin');
    assert.deepEqual(me.body.twoFactor, { enabled: false, methods: [] });
  });

  it('answers an unknown email exactly like a wrong password (no enumeration)', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const wrong = await api.post('/login', { email: admin.email, password: 'wrong password' });
    const unknown = await api.post('/login', { email: uniqueEmail('nobody'), password: 'wrong password' });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, wrong.status);
    assert.equal(unknown.text, wrong.text);
    assert.deepEqual(wrong.body, { error: 'invalid_credentials', message: 'The email or password is incorrect.' });
    const headerNames = (h: Headers) => [...h.keys()].filter((k) => k !== 'date' && !k.startsWith('x-ratelimit')).sort();
    assert.deepEqual(headerNames(unknown.headers), headerNames(wrong.headers));
  });

  it('logs out: the token stops working on the next request', async () => {
    const { api } = context();
    const admin = await signUp(api);
    assert.equal((await api.post('/logout', undefined, { token: admin.token })).status, 204);
    const me = await api.get('/me', { token: admin.token });
    assert.equal(me.status, 401);
    assert.equal(me.body.error, 'unauthenticated');
  });

  it('refuses the 11th attempt for one email within the window with 429 and Retry-After, even with the right password', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const failures = await Promise.all(Array.from({ length: 10 }, () => api.post('/login', { email: admin.email, password: 'wrong password' })));
    assert.deepEqual(failures.map((r) => r.status), Array(10).fill(401));
    const locked = await api.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error, 'too_many_attempts');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
  });

  it('evaluates at most 10 passwords for one email when 30 guesses arrive at once', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const burst = await Promise.all(Array.from({ length: 30 }, () => api.post('/login', { email: admin.email, password: 'wrong password' })));
    const evaluated = burst.filter((r) => r.status === 401).length;
    const refused = burst.filter((r) => r.status === 429).length;
    assert.equal(evaluated, 10);
    assert.equal(refused, 20);
  });

  it('lifts the failed-password lock by itself once the window has passed', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (let i = 0; i < 10; i += 1) await api.post('/login', { email: admin.email, password: 'wrong password' });
    assert.equal((await api.post('/login', { email: admin.email, password: PASSWORD })).status, 429);
    server.clock.advance(15 * 60_000 + 1);
    assert.equal((await api.post('/login', { email: admin.email, password: PASSWORD })).status, 200);
  });
});
