/**
 * The measured loads, each against a running Twofold server with a seeded database.
 * Requests that spend something (a half-authenticated session, a TOTP time step) take it from
 * a pool prepared beforehand, so every request is one the server would accept.
 */
import { generateTOTP } from '../src/factors/totp/totp.ts';
import { runAutocannon, runClosedLoop, type LoadFigures, type TaskOutcome } from './load.ts';
import { BENCH_PASSWORD, type SeededData, type TOTPUser } from './seed.ts';

/** A new object each time: autocannon writes content-length into the headers it is given. */
const jsonHeaders = (): Record<string, string> => ({ 'content-type': 'application/json' });

/** Cycles through a list forever (tokens and emails that can be used again). */
function rotation<T>(items: T[]): () => T {
  if (items.length === 0) throw new Error('Nothing to rotate through');
  let next = 0;
  return () => items[next++ % items.length]!;
}

/** Hands each item out once; undefined when spent. */
function onceEach<T>(items: T[]): () => T | undefined {
  let next = 0;
  return () => items[next++];
}

export interface LoadShape {
  seconds: number;
  connections: number;
}

export function measureBareRoute(bareURL: string, shape: LoadShape): Promise<LoadFigures> {
  return runAutocannon({ url: `${bareURL}/bare`, ...shape });
}

/** GET /api/v1/me with complete sessions, one token after another. */
export function measureSessionCheck(url: string, tokens: string[], shape: LoadShape & { rate?: number }): Promise<LoadFigures> {
  const token = rotation(tokens);
  return runAutocannon({ url: `${url}/api/v1/me`, ...shape, perRequest: () => ({ headers: { authorization: `Bearer ${token()}` } }) });
}

/**
 * POST /api/v1/login/verify: each request a fresh half-authenticated session with a right
 * code for the current time step. The load stops when the pool is spent (it is sized above
 * what the run can use, so normally time ends it); a request past the end would be refused
 * and counted as an error.
 */
export function measureSecondStep(url: string, sessions: SeededData['halfSessions'], shape: LoadShape): Promise<LoadFigures> {
  const take = onceEach(sessions);
  const spent = sessions[sessions.length - 1]!;
  return runAutocannon({
    url: `${url}/api/v1/login/verify`,
    method: 'POST',
    ...shape,
    maxRequests: sessions.length - shape.connections,
    perRequest: () => {
      const session = take() ?? spent;
      return { headers: { ...jsonHeaders(), authorization: `Bearer ${session.token}` }, body: JSON.stringify({ method: 'totp', code: generateTOTP(session.secret, Date.now()) }) };
    },
  });
}

/** One login as a person does it: the password step, then the code. */
async function fullLogin(url: string, user: TOTPUser): Promise<TaskOutcome> {
  const first = await fetch(`${url}/api/v1/login`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ email: user.email, password: BENCH_PASSWORD }) });
  const answer = (await first.json()) as { state?: string; token?: string };
  if (first.status !== 200 || answer.state !== 'mfa_required' || !answer.token) return { error: `password step ${first.status} ${answer.state ?? ''}`.trim() };
  const second = await fetch(`${url}/api/v1/login/verify`, {
    method: 'POST',
    headers: { ...jsonHeaders(), authorization: `Bearer ${answer.token}` },
    body: JSON.stringify({ method: 'totp', code: generateTOTP(user.secret, Date.now()) }),
  });
  if (second.status === 200) {
    await second.arrayBuffer();
    return 'ok';
  }
  const refusal = (await second.json().catch(() => ({}))) as { error?: string };
  return { error: `second step ${second.status} ${refusal.error ?? ''}`.trim() };
}

/** Complete password + TOTP logins back to back; each user logs in once (one code per step). */
export function measureFullLogins(url: string, users: TOTPUser[], seconds: number, concurrency: number): Promise<LoadFigures> {
  const take = onceEach(users);
  return runClosedLoop(seconds, concurrency, async () => {
    const user = take();
    return user ? fullLogin(url, user) : 'exhausted';
  });
}

/** POST /api/v1/login (the password step, argon2id) for users without a second factor. */
export function measurePasswordLogins(url: string, emails: string[], shape: LoadShape): Promise<LoadFigures> {
  const email = rotation(emails);
  return runAutocannon({ url: `${url}/api/v1/login`, method: 'POST', ...shape, perRequest: () => ({ headers: jsonHeaders(), body: JSON.stringify({ email: email(), password: BENCH_PASSWORD }) }) });
}

/** The first page of the administrator's Users page (GET /api/v1/account/users). */
export function measureUsersPage(url: string, adminToken: string, shape: LoadShape): Promise<LoadFigures> {
  return runAutocannon({ url: `${url}/api/v1/account/users`, ...shape, headers: { authorization: `Bearer ${adminToken}` } });
}

/**
 * The session check at a fixed rate while a flood of password logins runs at the same time,
 * both for the same length of time. A fixed rate (not as fast as possible) is what shows
 * whether the checks wait behind the hashing: a saturated load would only show the CPU split.
 */
export async function measureSessionCheckDuringFlood(url: string, data: SeededData, sessionShape: LoadShape & { rate: number }, floodShape: { connections: number }): Promise<{ sessionCheck: LoadFigures; flood: LoadFigures }> {
  // The flood starts first and ends last, so every check runs inside it: half a second on each
  // side (less for the short loads of a quick run).
  const margin = Math.min(0.5, sessionShape.seconds / 2);
  const floodRun = measurePasswordLogins(url, data.loginEmails, { ...floodShape, seconds: sessionShape.seconds + 2 * margin });
  await new Promise((resolve) => setTimeout(resolve, margin * 1000));
  const sessionCheck = await measureSessionCheck(url, data.completeTokens, sessionShape);
  return { sessionCheck, flood: await floodRun };
}
