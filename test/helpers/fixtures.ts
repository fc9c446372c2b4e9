/** Ready-made people for tests: an account with its admin, invited users, logged-in tokens. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { APIClient } from './http.ts';
import type { TestServer } from './server.ts';

export const PASSWORD = 'correct horse battery';

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@example.com`;
}

export interface SignedUp {
  token: string;
  email: string;
  userId: string;
  accountId: string;
}

export async function signUp(api: APIClient, email = uniqueEmail('admin'), accountName = 'Acme'): Promise<SignedUp> {
  const response = await api.post('/signup', { accountName, name: 'Ada Admin', email, password: PASSWORD });
  assert.equal(response.status, 201, response.text);
  return { token: response.body.token, email, userId: response.body.user.id, accountId: response.body.account.id };
}

/** The last path segment of the newest link e-mailed to `to` whose path contains `pathPart`. */
export function linkFromOutbox(server: TestServer, to: string, pathPart: string): string {
  const message = server.outbox.list().find((m) => m.channel === 'email' && m.to === to && m.body.includes(pathPart));
  assert.ok(message, `no e-mail to ${to} with a ${pathPart} link`);
  const match = new RegExp(`(https?://\\S+${pathPart.replace(/\//g, '\\/')}([A-Za-z0-9_-]+))`).exec(message.body);
  assert.ok(match, 'the e-mail holds no link');
  return match[2]!;
}

/** Invites a user as the admin and accepts the invitation with PASSWORD. */
export async function inviteAndAccept(server: TestServer, api: APIClient, adminToken: string, role: 'admin' | 'user' = 'user'): Promise<{ email: string; userId: string }> {
  const email = uniqueEmail(role);
  const invited = await api.post('/account/users', { email, name: 'Ivy Invited', role }, { token: adminToken });
  assert.equal(invited.status, 201, invited.text);
  await waitFor(() => server.outbox.list().some((m) => m.to === email));
  const token = linkFromOutbox(server, email, '/invitations/');
  const accepted = await api.post(`/invitations/${token}`, { password: PASSWORD });
  assert.equal(accepted.status, 204, accepted.text);
  return { email, userId: invited.body.user.id };
}

export async function logIn(api: APIClient, email: string, password = PASSWORD): Promise<{ token: string; state: string }> {
  const response = await api.post('/login', { email, password });
  assert.equal(response.status, 200, response.text);
  return { token: response.body.token, state: response.body.state };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
