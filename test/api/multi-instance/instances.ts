/**
 * Several real `twofold serve` processes on one fresh PostgreSQL database (issue 7): separate
 * operating-system processes sharing nothing but the database, so whatever they agree on — a
 * used code, a lock, a count — was agreed through PostgreSQL. Each keeps its own in-memory
 * development outbox, read over its /api/v1/dev/outbox route.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases.ts';
import { PASSWORD, uniqueEmail, waitFor } from '../../helpers/fixtures.ts';
import { apiClient, type APIClient } from '../../helpers/http.ts';
import { freePort, TEST_ENCRYPTION_KEY } from '../../helpers/server.ts';
import { oathtoolCode } from '../../helpers/two-factor.ts';
import { openStorage, type Storage } from '../../../src/storage/database.ts';
import { twofoldBin } from '../../helpers/twofold-command.ts';

// Three processes compiling TypeScript at once on a busy machine can take a while.
const START_TIMEOUT_MS = 120_000;
const STEP_MS = 30_000;

export interface OutboxMessage {
  channel: 'email' | 'sms';
  to: string;
  subject: string | null;
  body: string;
}

export interface Instance {
  name: string;
  url: string;
  api: APIClient;
  /** What the process printed (pino JSON lines and anything on stderr). */
  output: string[];
  process: ChildProcess;
  /** This instance's development outbox, newest first. */
  outbox(): Promise<OutboxMessage[]>;
}

export interface Cluster {
  instances: Instance[];
  database: TestDatabase;
  /** A connection of the test's own, for looking at what the instances wrote. */
  storage: Storage;
  stop(): Promise<void>;
}

/** Environment that every instance gets; `env` may lower policy numbers for a suite. */
function instanceEnv(port: number, databaseURL: string, env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: databaseURL,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    // The development outbox for mail and texts; no shared Redis: the database is the only
    // thing the instances have in common.
    SMTP_URL: '',
    SMS_PROVIDER: 'outbox',
    REDIS_URL: '',
    LOG_LEVEL: 'info',
    REQUESTS_PER_MINUTE_PER_IP: '1000000',
    SIGNUPS_PER_IP_PER_HOUR: '1000000',
    PASSWORD_HASH_QUEUE: '1000',
    ...env,
  };
}

function spawnInstance(name: string, port: number, databaseURL: string, env: Record<string, string>): Instance {
  const child = spawn(process.execPath, [twofoldBin, 'serve'], { env: instanceEnv(port, databaseURL, env), stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  // Read both pipes continuously: a full pipe would block the server's logging.
  const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter((line) => line.length > 0));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const api = apiClient(url);
  return {
    name,
    url,
    api,
    output,
    process: child,
    outbox: async () => {
      const response = await api.get('/dev/outbox');
      assert.equal(response.status, 200, `${name}: ${response.text}`);
      return response.body.messages;
    },
  };
}

async function untilServing(instance: Instance): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exitCode: number | null = null;
  instance.process.once('exit', (code) => (exitCode = code ?? -1));
  while (Date.now() < deadline && exitCode === null) {
    if (await fetch(`${instance.url}/healthz`).then((r) => r.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`instance ${instance.name} did not start (exit ${exitCode}):\n${instance.output.slice(-20).join('\n')}`);
}

async function stopInstance(instance: Instance): Promise<void> {
  if (instance.process.exitCode !== null || instance.process.signalCode !== null) return;
  const exited = new Promise((resolve) => instance.process.once('exit', resolve));
  instance.process.kill('SIGTERM');
  // A graceful stop that hangs must not hang the test run (nor leave the process behind).
  const stuck = setTimeout(() => instance.process.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(stuck);
}

/**
 * Creates a brand-new, empty database and starts `count` instances on it at the same moment,
 * so their start-up migrations race (the advisory lock in src/storage/migrate.ts settles it).
 */
export async function startCluster(count: number, env: Record<string, string> = {}): Promise<Cluster> {
  const database = await createTestDatabase('postgres');
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const instances = ports.map((port, i) => spawnInstance(String.fromCharCode(65 + i), port, database.url, env));
  const storage = openStorage(database.url);
  const stop = async () => {
    await Promise.all(instances.map(stopInstance));
    await storage.close();
    await database.drop();
  };
  try {
    await Promise.all(instances.map(untilServing));
  } catch (error) {
    await stop();
    throw error;
  }
  return { instances, database, storage, stop };
}

/** `count` requests made by `send`, handed out round-robin to the instances, all at once. */
export function acrossInstances<T>(instances: Instance[], count: number, send: (instance: Instance, i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => send(instances[i % instances.length]!, i)));
}

/** The newest message from `instance` that matches, waiting for it to arrive. */
export async function awaitMessage(instance: Instance, matches: (message: OutboxMessage) => boolean): Promise<OutboxMessage> {
  let found: OutboxMessage | undefined;
  await waitFor(async () => (found = (await instance.outbox()).find(matches)) !== undefined, 10_000);
  return found!;
}

/** The code in the newest text `instance` sent to `phone`. */
export async function textedCode(instance: Instance, phone: string): Promise<string> {
  const text = await awaitMessage(instance, (m) => m.channel === 'sms' && m.to === phone);
  const match = /\b(\d{6})\b/.exec(text.body);
  assert.ok(match, `no code in "${text.body}"`);
  return match[1]!;
}

/** The token at the end of the newest link `instance` e-mailed to `email` with `pathPart` in it. */
export async function emailedLinkToken(instance: Instance, email: string, pathPart: string): Promise<string> {
  const mail = await awaitMessage(instance, (m) => m.channel === 'email' && m.to === email && m.body.includes(pathPart));
  const match = new RegExp(`${pathPart.replace(/\//g, '\\/')}([A-Za-z0-9_-]+)`).exec(mail.body);
  assert.ok(match, 'the e-mail holds no link');
  return match[1]!;
}

/** Every message of every instance that matches: what was sent in total. */
export async function messagesEverywhere(instances: Instance[], matches: (message: OutboxMessage) => boolean): Promise<OutboxMessage[]> {
  return (await Promise.all(instances.map((instance) => instance.outbox()))).flat().filter(matches);
}

/** The authenticator code for the time step after the current one (inside the ±1 window, after the enrolment step). */
export function nextStepCode(secret: string): string {
  return oathtoolCode(secret, Date.now() + STEP_MS);
}

/** A well-formed code that no step near now (±2) would accept, whatever the real clock does meanwhile. */
export function wrongTOTPCode(secret: string): string {
  const near = new Set([-2, -1, 0, 1, 2].map((delta) => oathtoolCode(secret, Date.now() + delta * STEP_MS)));
  let candidate = 0;
  while (near.has(String(candidate).padStart(6, '0'))) candidate += 1;
  return String(candidate).padStart(6, '0');
}

export interface Person {
  email: string;
  userId: string;
  accountId: string;
  token: string;
}

/** A new account with its admin, signed up on `instance`: a complete, recent session. */
export async function signUpOn(instance: Instance, prefix = 'admin'): Promise<Person> {
  const email = uniqueEmail(prefix);
  const response = await instance.api.post('/signup', { accountName: 'Multi', name: 'Mia Multi', email, password: PASSWORD });
  assert.equal(response.status, 201, response.text);
  return { email, userId: response.body.user.id, accountId: response.body.account.id, token: response.body.token };
}

/** Enrols the authenticator app: started on `starter`, confirmed on `confirmer`. */
export async function enrollTOTPAcross(starter: Instance, confirmer: Instance, token: string): Promise<{ secret: string; recoveryCodes: string[]; token: string }> {
  const started = await starter.api.post('/me/2fa/totp', undefined, { token });
  assert.equal(started.status, 201, started.text);
  const confirmed = await confirmer.api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: oathtoolCode(started.body.secret, Date.now()) }, { token });
  assert.equal(confirmed.status, 200, confirmed.text);
  return { secret: started.body.secret, recoveryCodes: confirmed.body.recoveryCodes, token: confirmed.body.token ?? token };
}

/** The password step on `instance` for a user with a factor: a half-authenticated token. */
export async function passwordStepOn(instance: Instance, email: string): Promise<string> {
  const login = await instance.api.post('/login', { email, password: PASSWORD });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.body.state, 'mfa_required');
  return login.body.token;
}

/** How many security-log rows of `type` the instances wrote for `userId`. */
export async function countSecurityEvents(cluster: Cluster, userId: string, type: string): Promise<number> {
  const rows = await cluster.storage.db.selectFrom('security_events').select('id').where('subject_user_id', '=', userId).where('type', '=', type).execute();
  return rows.length;
}

/** A tally of answers by status and error, for messages: "200×1 401 invalid_code×4 429 too_many_attempts×3". */
export function statusTally(answers: Array<{ status: number; body?: any }>): string {
  const counts = new Map<string, number>();
  for (const answer of answers) {
    const key = [answer.status, answer.body?.error].filter((part) => part !== undefined).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `${key}×${n}`).join(' ');
}
