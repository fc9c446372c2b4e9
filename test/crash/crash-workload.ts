/**
 * The clients of the crash-safety test. Each user does one thing at a time — log in, enrol (or
 * replace) the authenticator app, get a disable link from the admin and use it, turn 2FA off
 * themselves — while the admin flips account enforcement. Before each request the client
 * writes down what is in flight; a lost answer (the server was killed) leaves it there for
 * the checks to resolve, and stops that client for the round.
 */
import { hashToken } from '../../src/crypto/tokens.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import type { APIResponse } from '../helpers/http.ts';
import { call, LostAnswer, nextCode, outboxLinks, sleep, waitForNewLink, type ServerProcess } from './crash-harness.ts';
import type { EnforcementModel, InFlight, KnownFactor, UserModel } from './crash-model.ts';

export interface Admin {
  id: string;
  accountId: string;
  token: string;
}

export interface Workload {
  server: ServerProcess;
  admin: Admin;
  users: UserModel[];
  enforcement: EnforcementModel;
  random: () => number;
  /** Set just before the SIGKILL: nobody starts a new request after it. */
  stopped: () => boolean;
  problems: string[];
  /** Answered operations, by name, for the round's summary. */
  answered: Map<string, number>;
}

const DISABLE_LINK_PATH = '/2fa/disable/';
const LINKS_PER_USER_PER_HOUR = 3;

class Unexpected extends Error {}

function expectStatus(response: APIResponse, status: number, what: string): void {
  if (response.status !== status) throw new Unexpected(`${what} answered ${response.status} ${response.text}`);
}

function answered(work: Workload, name: string): void {
  work.answered.set(name, (work.answered.get(name) ?? 0) + 1);
}

/** Sends a request with `flight` written down; clears it once the answer is in. */
async function inFlight(user: UserModel, flight: InFlight, send: () => Promise<APIResponse>): Promise<APIResponse> {
  user.inFlight = flight;
  const response = await send();
  user.inFlight = null;
  return response;
}

/** Password step, then a TOTP code when the user has a factor. False when no code step is free. */
export async function logIn(work: Workload, user: UserModel): Promise<boolean> {
  const password = await inFlight(user, { kind: 'login' }, () => call(work.server, 'POST', '/login', { email: user.email, password: PASSWORD }));
  expectStatus(password, 200, `${user.label} password step`);
  const expectedState = user.factor ? 'mfa_required' : null;
  if (expectedState && password.body.state !== expectedState) throw new Unexpected(`${user.label} with a factor got login state ${password.body.state}`);
  if (!user.factor && password.body.state === 'mfa_required') throw new Unexpected(`${user.label} without a factor was asked for a code`);
  if (password.body.state === 'authenticated') {
    user.committed.logins += 1;
    user.token = password.body.token;
    user.tokenEnrollmentOnly = false;
    answered(work, 'login');
    return true;
  }
  if (password.body.state === 'enrollment_required') {
    user.token = password.body.token;
    user.tokenEnrollmentOnly = true;
    return true;
  }
  const code = nextCode(user.factor!.app);
  if (code === null) return false;
  const verified = await inFlight(user, { kind: 'login' }, () => call(work.server, 'POST', '/login/verify', { method: 'totp', code }, password.body.token));
  expectStatus(verified, 200, `${user.label} TOTP login`);
  user.committed.logins += 1;
  user.token = verified.body.token;
  user.tokenEnrollmentOnly = false;
  answered(work, 'login');
  return true;
}

async function enroll(work: Workload, user: UserModel): Promise<void> {
  const started = await inFlight(user, { kind: 'start' }, () => call(work.server, 'POST', '/me/2fa/totp', undefined, user.token!));
  if (started.status === 401) {
    user.token = null;
    return;
  }
  expectStatus(started, 201, `${user.label} enrollment start`);
  user.pendingEnrollmentId = started.body.enrollmentId;
  const factor: KnownFactor = { app: { secret: started.body.secret, lastStep: -Infinity }, recoveryCodes: null, usedRecoveryCodes: 0, confirmingSessionHash: hashToken(user.token!) };
  const code = nextCode(factor.app)!;
  const confirmed = await inFlight(user, { kind: 'confirm', factor, enrollmentId: started.body.enrollmentId }, () =>
    call(work.server, 'POST', '/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code }, user.token!),
  );
  expectStatus(confirmed, 200, `${user.label} enrollment confirmation`);
  factor.recoveryCodes = confirmed.body.recoveryCodes;
  user.factor = factor;
  user.pendingEnrollmentId = null;
  user.committed.enrolled += 1;
  if (confirmed.body.token) {
    // It completed a login that stopped at enrollment (the account enforces 2FA).
    user.token = confirmed.body.token;
    user.tokenEnrollmentOnly = false;
    user.committed.logins += 1;
  }
  answered(work, 'enrollment');
}

async function disableWithLink(work: Workload, user: UserModel): Promise<void> {
  const linksBefore = (await outboxLinks(work.server, user.email, DISABLE_LINK_PATH)).length;
  user.linkRequests += 1;
  const sent = await inFlight(user, { kind: 'link_send' }, () => call(work.server, 'POST', `/account/users/${user.id}/2fa-disable-link`, undefined, work.admin.token));
  expectStatus(sent, 202, `disable link for ${user.label}`);
  user.committed.linkSent += 1;
  answered(work, 'disable link sent');
  const token = await waitForNewLink(work.server, user.email, DISABLE_LINK_PATH, linksBefore);
  if (work.stopped()) return;
  const used = await inFlight(user, { kind: 'link_use', token }, () => call(work.server, 'POST', `/2fa/disable-links/${token}`, { password: PASSWORD }));
  expectStatus(used, 204, `${user.label} using the disable link`);
  user.factor = null;
  user.pendingEnrollmentId = null;
  user.token = null;
  user.usedLinks.push(token);
  user.committed.linkUsed += 1;
  answered(work, 'disable link used');
}

async function disableSelf(work: Workload, user: UserModel): Promise<void> {
  const removed = await inFlight(user, { kind: 'self_disable' }, () => call(work.server, 'DELETE', '/me/2fa', { password: PASSWORD }, user.token!));
  // The admin may have turned enforcement on meanwhile: then it is refused, and nothing changes.
  if (removed.status === 403 && removed.body?.error === '2fa_enforced') return;
  expectStatus(removed, 204, `${user.label} turning 2FA off`);
  user.factor = null;
  user.pendingEnrollmentId = null;
  user.token = null;
  user.committed.selfRemoved += 1;
  answered(work, '2FA turned off');
}

async function userStep(work: Workload, user: UserModel): Promise<void> {
  if (!user.token) {
    if (!(await logIn(work, user))) await sleep(300);
    return;
  }
  const roll = work.random();
  if (!user.factor) {
    if (roll < 0.75) await enroll(work, user);
    else await logIn(work, user);
    return;
  }
  if (roll < 0.3) await enroll(work, user);
  else if (roll < 0.5) {
    if (!(await logIn(work, user))) await sleep(100);
  } else if (roll < 0.8 && user.linkRequests < LINKS_PER_USER_PER_HOUR) await disableWithLink(work, user);
  else if (!work.enforcement.known) await disableSelf(work, user);
  else await enroll(work, user);
}

async function adminStep(work: Workload): Promise<void> {
  await sleep(50 + work.random() * 250);
  if (work.stopped()) return;
  const target = !work.enforcement.known;
  work.enforcement.inFlight = target;
  const changed = await call(work.server, 'PATCH', '/account', { enforce2fa: target }, work.admin.token);
  expectStatus(changed, 200, 'enforcement change');
  if (changed.body.enforce2fa !== target) throw new Unexpected(`enforcement change to ${target} answered ${changed.body.enforce2fa}`);
  work.enforcement.known = target;
  work.enforcement.inFlight = null;
  work.enforcement.committedChanges += 1;
  answered(work, 'enforcement change');
}

/** Runs one client until the kill; a lost answer ends it quietly, anything else is a problem. */
async function client(work: Workload, label: string, step: () => Promise<void>): Promise<void> {
  while (!work.stopped()) {
    try {
      await step();
      await sleep(work.random() * 30);
    } catch (error) {
      if (error instanceof LostAnswer) return;
      work.problems.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
  }
}

export async function runClients(work: Workload): Promise<void> {
  await Promise.all([...work.users.map((user) => client(work, user.label, () => userStep(work, user))), client(work, 'admin', () => adminStep(work))]);
}
