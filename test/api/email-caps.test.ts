/**
 * Rule 44: reset and invitation e-mails are capped, counted in the shared limit store.
 * - Forgot-password: at most 3 e-mails per address per hour (PRODUCT.md §4) and a per-IP cap;
 *   the answer stays 202 and identical whether capped or not (rule 31), so the cap tells nothing.
 *   Without it, twelve requests sent twelve e-mails (mail-bombing, each voiding the last link).
 * - Invitations: capped per account per hour (INVITATIONS_PER_ACCOUNT_PER_HOUR), which also bounds
 *   how many addresses an admin can try (README, security notes).
 * Requests come through a trusted proxy so each test has its own client IP.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';

const HOUR = 3_600_000;
let nextIP = 10;
const freshIP = () => `203.0.113.${nextIP++}`;

function resetEmailsTo(server: TestServer, to: string): number {
  return server.outbox.list().filter((m) => m.channel === 'email' && m.to === to && m.body.includes('/password/reset/')).length;
}

/** The background sends have had time to happen (they run after the 202). */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 400));
}

function comparableHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!['date', 'x-request-id', 'ratelimit-remaining', 'x-ratelimit-remaining', 'ratelimit-reset', 'x-ratelimit-reset'].includes(name)) kept[name] = value;
  });
  return kept;
}

forEachDatabase(
  'reset and invitation e-mails are capped (rule 44)',
  (context) => {
    it('rule 44: twelve forgot-password requests at once for one address send exactly 3 e-mails, all answered 202 alike', async () => {
      const { api, server } = context();
      const user = await inviteAndAccept(server, api, (await signUp(api)).token);
      const ip = freshIP();
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => request(server.url, 'POST', '/api/v1/password/forgot', { email: user.email }, { headers: { 'x-forwarded-for': ip } })),
      );
      for (const answer of answers) {
        assert.equal(answer.status, 202);
        assert.equal(answer.text, answers[0]!.text);
        assert.deepEqual(comparableHeaders(answer.headers), comparableHeaders(answers[0]!.headers));
      }
      await waitFor(() => resetEmailsTo(server, user.email) >= 3);
      await settle();
      assert.equal(resetEmailsTo(server, user.email), 3);
      // The window ends by itself.
      server.clock.advance(HOUR + 1000);
      assert.equal((await request(server.url, 'POST', '/api/v1/password/forgot', { email: user.email }, { headers: { 'x-forwarded-for': freshIP() } })).status, 202);
      await waitFor(() => resetEmailsTo(server, user.email) === 4);
    });

    it('rule 44: the per-address cap holds across client IPs, and the forgot page answers alike when capped', async () => {
      const { api, server } = context();
      const user = await inviteAndAccept(server, api, (await signUp(api)).token);
      for (let i = 0; i < 3; i += 1) {
        assert.equal((await request(server.url, 'POST', '/api/v1/password/forgot', { email: user.email }, { headers: { 'x-forwarded-for': freshIP() } })).status, 202);
      }
      await waitFor(() => resetEmailsTo(server, user.email) === 3);
      const browser = new FormSession(server);
      const page = await browser.post('/password/forgot', { email: user.email }, { headers: { 'x-forwarded-for': freshIP() } });
      const unknown = await browser.post('/password/forgot', { email: uniqueEmail('nobody') }, { headers: { 'x-forwarded-for': freshIP() } });
      assert.equal(page.status, 200);
      assert.equal(page.text.replace(/name="_csrf" value="[^"]*"/g, ''), unknown.text.replace(/name="_csrf" value="[^"]*"/g, ''));
      await settle();
      assert.equal(resetEmailsTo(server, user.email), 3);
    });

    it('rule 44: one client IP gets at most PASSWORD_RESETS_PER_IP_PER_HOUR reset e-mails, whichever addresses it names', async () => {
      const { api, server } = context();
      const users: Array<{ email: string }> = [];
      for (const admin of [await signUp(api), await signUp(api)]) {
        for (let i = 0; i < 3; i += 1) users.push(await inviteAndAccept(server, api, admin.token));
      }
      const ip = freshIP();
      for (const user of users) {
        assert.equal((await request(server.url, 'POST', '/api/v1/password/forgot', { email: user.email }, { headers: { 'x-forwarded-for': ip } })).status, 202);
      }
      await waitFor(() => users.reduce((sum, user) => sum + resetEmailsTo(server, user.email), 0) >= 4);
      await settle();
      assert.equal(users.reduce((sum, user) => sum + resetEmailsTo(server, user.email), 0), 4);
    });

    it('rule 44: invitations are capped per account per hour (429 rate_limited, nothing created); concurrent ones too', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const attempts = await Promise.all(Array.from({ length: 8 }, (_, i) => api.post('/account/users', { email: uniqueEmail(`cap${i}`), name: 'Cap', role: 'user' }, { token: admin.token })));
      const created = attempts.filter((answer) => answer.status === 201);
      const refused = attempts.filter((answer) => answer.status === 429);
      assert.equal(created.length, 5, attempts.map((a) => a.status).join());
      assert.equal(refused.length, 3);
      for (const answer of refused) {
        assert.equal(answer.body.error, 'rate_limited');
        assert.match(answer.body.message, /invitations/i);
        assert.ok(Number(answer.headers.get('retry-after')) > 0);
      }
      const users = await api.get('/account/users', { token: admin.token });
      assert.equal(users.body.users.length, 1 + 5);
      // Another account has its own budget; this one's comes back after the hour.
      const other = await signUp(api);
      assert.equal((await api.post('/account/users', { email: uniqueEmail(), name: 'Other', role: 'user' }, { token: other.token })).status, 201);
      server.clock.advance(HOUR + 1000);
      assert.equal((await api.post('/account/users', { email: uniqueEmail(), name: 'Later', role: 'user' }, { token: admin.token })).status, 201);
    });

    it('rule 44: the Users page says the invitation cap was reached', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      for (let i = 0; i < 5; i += 1) assert.equal((await api.post('/account/users', { email: uniqueEmail(), name: 'Cap', role: 'user' }, { token: admin.token })).status, 201);
      const browser = new FormSession(server);
      assert.equal((await browser.post('/login', { email: admin.email, password: 'correct horse battery' })).status, 303);
      const page = await browser.post('/settings/users', { email: uniqueEmail(), name: 'Sixth', role: 'user' });
      assert.equal(page.status, 429);
      assert.match(page.text, /invitations/i);
      assert.ok(Number(page.headers.get('retry-after')) > 0);
    });
  },
  { env: { TRUSTED_PROXIES: '127.0.0.1', PASSWORD_RESETS_PER_IP_PER_HOUR: '4', INVITATIONS_PER_ACCOUNT_PER_HOUR: '5' } },
);

forEachDatabase(
  'invitations are capped per client IP (rule 44)',
  (context) => {
    it('rule 44: one client IP sends at most INVITATIONS_PER_IP_PER_HOUR invitations, across the accounts it signs up (which bounds probing addresses with invitations to the rate sign-up allows)', async () => {
      const { api } = context();
      const ip = { headers: { 'x-forwarded-for': freshIP() } };
      const statuses: number[] = [];
      for (const admin of [await signUp(api), await signUp(api)]) {
        for (let i = 0; i < 2; i += 1) statuses.push((await api.post('/account/users', { email: uniqueEmail(), name: 'Ip', role: 'user' }, { token: admin.token, ...ip })).status);
      }
      assert.deepEqual(statuses, [201, 201, 201, 429]);
      const elsewhere = await signUp(api);
      assert.equal((await api.post('/account/users', { email: uniqueEmail(), name: 'Other IP', role: 'user' }, { token: elsewhere.token, headers: { 'x-forwarded-for': freshIP() } })).status, 201, 'another IP has its own budget');
    });
  },
  { env: { TRUSTED_PROXIES: '127.0.0.1', INVITATIONS_PER_IP_PER_HOUR: '3' } },
);
