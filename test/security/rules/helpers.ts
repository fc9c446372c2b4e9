/**
 * Shared setup for the attack suite (one file per SECURITY.md section). Each helper is an
 * observation an attack needs — a raw database read, the second-factor budget, a request with
 * headers fetch() will not send — built on the general helpers in test/helpers.
 * Append new helpers below; the sections are used by several rule files.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe } from 'node:test';
import { sql } from 'kysely';
import { hmacHex } from '../../../src/crypto/tokens.ts';
import { inviteAndAccept, linkFromOutbox, logIn, signUp, waitFor, type SignedUp } from '../../helpers/fixtures.ts';
import { apiClient, type APIClient } from '../../helpers/http.ts';
import { startTestServer, type TestServer, type TestServerOptions } from '../../helpers/server.ts';
import type { OutboxMessage } from '../../../src/delivery/outbox.ts';
import type { SuiteContext } from '../../helpers/suites.ts';
import { enrollAuthenticatorApp } from '../../helpers/two-factor.ts';

// ---------------------------------------------------------------------------------------------
// Sections F–J (rules 20–34)
// ---------------------------------------------------------------------------------------------

/**
 * One suite on one SQLite server, for rules whose attack does not depend on the storage engine
 * (headers, parsing, HTTP answers). Storage-dependent rules use forEachDatabase instead.
 */
export function onSQLiteServer(title: string, body: (context: () => SuiteContext) => void, options: TestServerOptions = {}): void {
  describe(title, () => {
    let context: SuiteContext | null = null;
    before(async () => {
      const server = await startTestServer('sqlite', options);
      context = { kind: 'sqlite', server, api: apiClient(server.url) };
    });
    after(async () => {
      await context?.server.close();
    });
    body(() => {
      if (!context) throw new Error('suite context used before the server started');
      return context;
    });
  });
}

/** The session cookie header a browser would send for `token` (development cookie name). */
export function sessionCookie(token: string): string {
  return `twofold_session=${token}`;
}

/** Wrong second-factor codes charged to the user's shared budget in the current window (rule 1). */
export async function secondFactorGuesses(server: TestServer, userId: string): Promise<number> {
  const key = `2fa-user:${hmacHex(server.deps.keys.hashing, userId)}`;
  const row = await server.deps.db.selectFrom('rate_limit_counters').select('count').where('key', '=', key).executeTakeFirst();
  return row ? Number(row.count) : 0;
}

export interface AdminAndEnrolledUser {
  admin: SignedUp;
  user: { email: string; userId: string };
  /** The user's complete session after enrolling. */
  token: string;
  secret: string;
  recoveryCodes: string[];
}

/** An admin, and a plain user of the same account with the authenticator app on. */
export async function adminAndEnrolledUser(server: TestServer, api: APIClient): Promise<AdminAndEnrolledUser> {
  const admin = await signUp(api);
  const user = await inviteAndAccept(server, api, admin.token);
  const login = await logIn(api, user.email);
  const enrolled = await enrollAuthenticatorApp(server, api, login.token);
  return { admin, user, token: enrolled.token, secret: enrolled.secret, recoveryCodes: enrolled.recoveryCodes };
}

/** Has the admin send the user a disable link and answers the token the user was e-mailed. */
export async function sendDisableLink(server: TestServer, api: APIClient, adminToken: string, user: { email: string; userId: string }): Promise<{ token: string; responseText: string; responseHeaders: string }> {
  const before = server.outbox.list().length;
  const sent = await api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: adminToken });
  assert.equal(sent.status, 202, sent.text);
  await waitFor(() => server.outbox.list().length > before);
  return { token: linkFromOutbox(server, user.email, '/2fa/disable/'), responseText: sent.text, responseHeaders: JSON.stringify([...sent.headers]) };
}

/** Every table of the database, every column, as one text per table (what a stolen dump shows). */
export async function dumpDatabase(server: TestServer): Promise<Map<string, string>> {
  const db = server.deps.db;
  const tables =
    server.database.kind === 'sqlite'
      ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows.map((r) => r.name)
      : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(db)).rows.map((r) => r.name);
  const dump = new Map<string, string>();
  for (const table of tables) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows;
    // Blobs are shown both as text and as hex, the two ways a dump tool prints them.
    const text = rows.map((row) => Object.entries(row).map(([column, value]) => `${column}=${Buffer.isBuffer(value) ? `${value.toString('latin1')} ${value.toString('hex')}` : String(value)}`).join('\t')).join('\n');
    dump.set(table, text);
  }
  return dump;
}

/** Tables whose content is the state an attack might change (counters and the log excluded). */
const STATE_TABLES = ['accounts', 'users', 'sessions', 'links', 'factors', 'totp_enrollments', 'login_challenges', 'recovery_codes', 'sms_enrollments'];

/**
 * A comparable picture of the product's state. `sessions.last_seen_at` moves on every
 * authenticated request by design (idle expiry), so it is left out.
 */
export async function stateSnapshot(server: TestServer): Promise<string> {
  const dump: string[] = [];
  for (const table of STATE_TABLES) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(server.deps.db)).rows;
    const cleaned = rows.map((row) => {
      const { last_seen_at: _ignored, ...rest } = row;
      return JSON.stringify(Object.entries(table === 'sessions' ? rest : row).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : String(v)]));
    });
    dump.push(`${table}: ${cleaned.sort().join('\n')}`);
  }
  return dump.join('\n\n');
}

/** True when `value` occurs in `text` not glued to other letters or digits (for short codes). */
export function containsStandalone(text: string, value: string): boolean {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![0-9A-Za-z])${escaped}(?![0-9A-Za-z])`).test(text);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request through node:http, which sends any Host or forwarding header the test names. */
export function rawRequest(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', reject);
    if (body !== undefined) outgoing.write(body);
    outgoing.end();
  });
}

/** A page's CSRF form token and the cookie it is bound to, as a browser would hold them. */
export async function pageForm(server: TestServer, path: string, cookie = ''): Promise<{ csrf: string; cookie: string }> {
  const page = await fetch(server.url + path, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const html = await page.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(csrf, `${path} has a CSRF field`);
  const csrfCookie = page.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.includes('csrf'));
  return { csrf, cookie: [cookie, csrfCookie].filter(Boolean).join('; ') };
}

// ---------------------------------------------------------------------------------------------
// Sections A–E (rules 1–19)
// ---------------------------------------------------------------------------------------------

export interface UserWithApp {
  email: string;
  userId: string;
  accountId: string;
  /** A complete, recent session that survived the enrollment. */
  token: string;
  secret: string;
  recoveryCodes: string[];
}

/** A fresh account whose admin has the authenticator app on. */
export async function userWithApp(server: TestServer, api: APIClient): Promise<UserWithApp> {
  const admin = await signUp(api);
  const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
  return { email: admin.email, userId: admin.userId, accountId: admin.accountId, token: enrolled.token, secret: enrolled.secret, recoveryCodes: enrolled.recoveryCodes };
}

/**
 * A second server on the first one's database (another instance, or the same one after a
 * restart), its clock set to the first one's time. The caller closes it; the database stays.
 */
export async function startSecondInstance(first: TestServer, options: TestServerOptions = {}): Promise<TestServer> {
  const second = await startTestServer(first.database.kind, { ...options, database: first.database });
  second.clock.set(first.clock.now());
  return second;
}

/** How a probe authenticates: the API's bearer header or the browser's cookie. */
export type Carrier = 'bearer' | 'cookie';

export interface ProbeAnswer {
  status: number;
  location: string | null;
  error: string | null;
}

/** Calls one catalogued route with its path parameters filled in, as a client holding `token`. */
export async function probeRoute(server: TestServer, route: { method: string; url: string }, token: string, carrier: Carrier): Promise<ProbeAnswer> {
  const url = route.url.replace(/:[A-Za-z]+/g, 'A'.repeat(43)).replace(/\*$/, 'x');
  const isAPI = url.startsWith('/api/');
  const headers: Record<string, string> = { origin: server.origin, 'content-type': isAPI ? 'application/json' : 'application/x-www-form-urlencoded' };
  if (carrier === 'bearer') headers.authorization = `Bearer ${token}`;
  else headers.cookie = sessionCookie(token);
  const response = await fetch(server.url + url, { method: route.method, headers, body: route.method === 'GET' ? undefined : isAPI ? '{}' : '', redirect: 'manual' });
  const text = await response.text();
  let error: string | null = null;
  try {
    error = (JSON.parse(text) as { error?: string }).error ?? null;
  } catch {
    error = null;
  }
  return { status: response.status, location: response.headers.get('location'), error };
}

/** Every catalogued route a session could be refused on (public ones and HEAD/OPTIONS left out). */
export function guardedRoutes(server: TestServer): Array<{ method: string; url: string; access: string }> {
  return server.app.routeCatalog.filter((route) => route.method !== 'HEAD' && route.method !== 'OPTIONS' && route.access !== 'public');
}

/** The session cookie a response sets, or null. */
export function setSessionToken(headers: Headers): string | null {
  const line = headers.getSetCookie().find((c) => c.startsWith('twofold_session='));
  if (!line) return null;
  const value = line.split(';')[0]!.slice('twofold_session='.length);
  return value === '' ? null : value;
}

/** E-mails to `to` whose subject matches, newest first. */
export function mailsTo(server: TestServer, to: string, subject: RegExp): OutboxMessage[] {
  return server.outbox.list().filter((m) => m.channel === 'email' && m.to === to && subject.test(m.subject ?? ''));
}

// ---------------------------------------------------------------------------------------------
// Sections F–J, continued (rule 31 timing)
// ---------------------------------------------------------------------------------------------

/**
 * An attacker in another process, timing JSON POSTs as a remote client would. In the test's own
 * process the server and the client share one event loop, so work the server defers until
 * after its answer (e-mail, link insert) would still delay the client's clock — and hide
 * whether the answer itself was fast.
 */
export interface RemoteAttacker {
  /** Milliseconds from sending the request to the whole answer arriving. */
  time(path: string, body: unknown): Promise<number>;
  close(): void;
}

const ATTACKER_SCRIPT = `
process.on('message', async ({ id, url, body }) => {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await response.text();
  process.send({ id, ms: performance.now() - started });
});
process.send({ ready: true });
`;

export async function startRemoteAttacker(base: string): Promise<RemoteAttacker> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', ATTACKER_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, (ms: number) => void>();
  let nextId = 0;
  await new Promise<void>((resolve) => {
    child.on('message', (message: { ready?: boolean; id?: number; ms?: number }) => {
      if (message.ready) return resolve();
      waiting.get(message.id!)?.(message.ms!);
      waiting.delete(message.id!);
    });
  });
  return {
    time: (path, body) =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        child.send({ id, url: base + path, body });
      }),
    close: () => void child.kill(),
  };
}
