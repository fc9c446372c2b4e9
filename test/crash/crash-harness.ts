/**
 * The machinery of the crash-safety test: real `twofold serve` processes that can be SIGKILLed,
 * an HTTP client that tells "the server answered" from "the answer was lost", the development
 * outbox read over HTTP, a seeded random source and TOTP codes from oathtool that never repeat
 * a time step (a replayed code would count as a wrong guess and could lock a user out for a
 * reason that has nothing to do with crashes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type APIResponse } from '../helpers/http.ts';
import { freePort, TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { oathtoolCode } from '../helpers/two-factor.ts';
import { twofoldBin } from '../helpers/twofold-command.ts';

/** Servers still running: killed when the test process exits, however it exits. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/** Starts `twofold serve` on a fresh port; resolves once /healthz answers (migrations done). */
export async function startServer(databaseURL: string): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [twofoldBin, 'serve'], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(port),
      PUBLIC_URL: url,
      DATABASE_URL: databaseURL,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      LOG_LEVEL: 'error',
      REQUESTS_PER_MINUTE_PER_IP: '1000000',
      PASSWORD_HASH_QUEUE: '1000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  // Loading the app through tsx takes several seconds on a busy machine.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`twofold serve exited with ${child.exitCode} before answering`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { url, child, exited };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('twofold serve did not answer /healthz within 60 s');
}

/** No shutdown hook runs: open transactions, pending e-mails and the outbox die with the process. */
export async function killServer(server: ServerProcess): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}

export async function stopServer(server: ServerProcess): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
  await server.exited;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The request reached a server that died before answering: whether it took effect is unknown. */
export class LostAnswer extends Error {}

/**
 * One API call to the current server. A 5xx is never acceptable (bad input and refusals are
 * 4xx); a network failure becomes LostAnswer, which the workload treats as "maybe happened".
 */
export async function call(server: ServerProcess, method: string, path: string, body?: unknown, token?: string): Promise<APIResponse> {
  let response: APIResponse;
  try {
    response = await request(server.url, method, `/api/v1${path}`, body, token ? { token } : {});
  } catch (error) {
    throw new LostAnswer(`${method} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (response.status >= 500) throw new Error(`${method} ${path} answered ${response.status}: ${response.text}`);
  return response;
}

interface OutboxMessage {
  channel: string;
  to: string;
  body: string;
}

/** E-mails to `to` holding a link whose path contains `pathPart`, newest first. */
export async function outboxLinks(server: ServerProcess, to: string, pathPart: string): Promise<string[]> {
  const answer = await call(server, 'GET', '/dev/outbox');
  const pattern = new RegExp(`${pathPart.replace(/\//g, '\\/')}([A-Za-z0-9_-]+)`);
  return (answer.body.messages as OutboxMessage[])
    .filter((message) => message.channel === 'email' && message.to === to)
    .map((message) => pattern.exec(message.body)?.[1])
    .filter((token): token is string => token !== undefined);
}

/** Waits for the e-mail sent in the background after an answer: the (count+1)-th link to `to`. */
export async function waitForNewLink(server: ServerProcess, to: string, pathPart: string, countBefore: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const links = await outboxLinks(server, to, pathPart);
    if (links.length > countBefore) return links[0]!;
    await sleep(20);
  }
  throw new Error(`no new ${pathPart} e-mail to ${to}`);
}

/** mulberry32: small, seedable, good enough to choose operations and kill moments. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STEP_MS = 30_000;

/** An authenticator app as the test holds it: the secret and the last time step it submitted. */
export interface AuthenticatorApp {
  secret: string;
  lastStep: number;
}

/**
 * The code of the earliest step the server will still take (it accepts ±1 step) that is later
 * than every step already submitted for this secret, whether or not that submission was
 * answered; null when the next two steps are both spent. Never the previous step, so a slow
 * request cannot arrive after its step left the window.
 */
export function nextCode(app: AuthenticatorApp): string | null {
  const current = Math.floor(Date.now() / STEP_MS);
  const step = Math.max(app.lastStep + 1, current);
  if (step > current + 1) return null;
  app.lastStep = step;
  return oathtoolCode(app.secret, step * STEP_MS + STEP_MS / 2);
}
