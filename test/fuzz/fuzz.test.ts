/**
 * Property-based fuzzing of every route (issue #8; SECURITY.md rules 33 and 34): generated and
 * mutated requests to every operation of the served OpenAPI document and to every page form,
 * as nobody, as a complete session and as a half-authenticated one. For each answer: never a
 * 5xx, never a stack trace or internal detail, API errors in {error, message}; and on a sample
 * of refused requests, nothing stored changed (see data-snapshot.ts for the exact rule).
 *
 * FUZZ_RUNS (default 1500) is the total number of generated requests, FUZZ_SEED the seed
 * (default fixed, so CI is repeatable; "random" for a new one — `npm run fuzz` runs 20,000 with
 * a random seed). The seed is printed; rerun with it to replay a failure. FUZZ_DATABASE=postgres
 * fuzzes PostgreSQL instead of SQLite; FUZZ_SNAPSHOT_EVERY sets how often a refusal is checked
 * against a data snapshot (default every 4th request); FUZZ_DEBUG=1 prints cast rebuilds and
 * where the time went.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { hashToken } from '../../src/crypto/tokens.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { apiRequest, budgetGuess, formRequest, pageGetRequest } from './arbitraries.ts';
import { Cast } from './cast.ts';
import { takeSnapshot, unexpectedChanges } from './data-snapshot.ts';
import { loadFormRoutes, loadOperations } from './openapi-operations.ts';
import { describeWire, materialize, type RequestSpec } from './request-model.ts';
import { closeAgent, responseProblems, send, type WireResponse } from './wire.ts';

const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const FIXED_SEED = 20_261_129;

function chooseSeed(text: string | undefined): number {
  if (!text) return FIXED_SEED;
  if (text === 'random') return (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer or "random", got "${text}"`);
  return seed;
}

const SEED = chooseSeed(process.env.FUZZ_SEED);
const DATABASE = process.env.FUZZ_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
/** One refused request in this many is checked against a before/after snapshot of the data. */
const SNAPSHOT_EVERY = Number(process.env.FUZZ_SNAPSHOT_EVERY ?? 4);

const API_RUNS = Math.round(TOTAL_RUNS * 0.7);
const PAGE_RUNS = Math.round(TOTAL_RUNS * 0.15);
const BUDGET_RUNS = TOTAL_RUNS - API_RUNS - PAGE_RUNS;

/** Budgets high enough that the fuzzer is not simply locked out (the budget suite keeps the real ones). */
/**
 * Every (re)built cast e-mails itself an invitation and a reset link and waits for them; the
 * hourly e-mail caps of rule 44 (tested in test/api/email-caps.test.ts) would starve it.
 */
const EMAIL_CAPS_OFF = {
  PASSWORD_RESETS_PER_EMAIL_PER_HOUR: '1000',
  PASSWORD_RESETS_PER_IP_PER_HOUR: '1000000',
  INVITATIONS_PER_ACCOUNT_PER_HOUR: '1000000',
  INVITATIONS_PER_IP_PER_HOUR: '1000000',
};

const GENEROUS_LIMITS = {
  FAILED_PASSWORDS_PER_EMAIL: '10000',
  FAILED_PASSWORDS_PER_IP: '1000000',
  SIGNUPS_PER_IP_PER_HOUR: '1000000',
  SMS_PER_NUMBER_PER_HOUR: '10000',
  SMS_PER_ACCOUNT_PER_HOUR: '1000000',
  SMS_PER_IP_PER_HOUR: '1000000',
  SMS_RESEND_SECONDS: '1',
  ...EMAIL_CAPS_OFF,
};

console.log(`# fuzz: ${TOTAL_RUNS} requests (${API_RUNS} API, ${PAGE_RUNS} pages, ${BUDGET_RUNS} under real budgets) on ${DATABASE}, seed ${SEED}`);
console.log(`# replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL_RUNS}${DATABASE === 'postgres' ? ' FUZZ_DATABASE=postgres' : ''} npm test -- test/fuzz/fuzz.test.ts`);

interface Tally {
  sent: number;
  byRoute: Map<string, number>;
  byStatus: Map<number, number>;
  snapshots: number;
  rateLimitedWithoutRetryAfter: number;
}

function newTally(): Tally {
  return { sent: 0, byRoute: new Map(), byStatus: new Map(), snapshots: 0, rateLimitedWithoutRetryAfter: 0 };
}

function summary(tally: Tally): string {
  const statuses = [...tally.byStatus].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
  return `${tally.sent} requests, ${tally.byRoute.size} routes, ${tally.snapshots} refusals checked against snapshots; statuses ${statuses}`;
}

/** Lines the server logged at error level or above: a 4xx can still hide a crash behind it. */
function errorLogLines(server: TestServer): string[] {
  return server.logLines.filter((line) => /"level":(50|60)/.test(line));
}

const timeByRoute = new Map<string, number>();

interface Runner {
  server: TestServer;
  cast: Cast;
  tally: Tally;
  /** Rebuild the cast when a request may have ended one of its sessions. */
  heal: boolean;
  /** An earlier answer came before its work was done (202, a reset request): let it finish before snapshotting. */
  backgroundWork: boolean;
}

/** Long enough for the few writes a deferred password-reset request makes. */
const BACKGROUND_SETTLE_MS = 100;

/** Sends one generated request and throws with a readable report when the answer breaks a property. */
async function exercise(runner: Runner, spec: RequestSpec): Promise<void> {
  const { server, cast, tally } = runner;
  const live = cast.live();
  const wire = materialize(spec, live);
  const snapshotDue = tally.sent % SNAPSHOT_EVERY === 0;
  if (snapshotDue && runner.backgroundWork) {
    await new Promise((resolve) => setTimeout(resolve, BACKGROUND_SETTLE_MS));
    runner.backgroundWork = false;
  }
  const snapshot = snapshotDue ? await takeSnapshot(server.deps.db) : null;
  let response: WireResponse;
  const sentAt = Date.now();
  try {
    response = await send(server.url, wire);
  } catch (error) {
    throw new Error(`no answer (${(error as Error).message}) to\n${describeWire(wire)}`);
  }
  tally.sent += 1;
  tally.byRoute.set(spec.route, (tally.byRoute.get(spec.route) ?? 0) + 1);
  if (process.env.FUZZ_DEBUG) timeByRoute.set(spec.route, (timeByRoute.get(spec.route) ?? 0) + Date.now() - sentAt);
  tally.byStatus.set(response.status, (tally.byStatus.get(response.status) ?? 0) + 1);
  const problems = responseProblems(wire, response);
  // /password/forgot answers before it looks the address up, so the answer's timing tells nothing.
  if (response.status === 202 || wire.path.includes('/password/forgot')) runner.backgroundWork = true;
  if (response.status === 429 && !response.headers['retry-after']) tally.rateLimitedWithoutRetryAfter += 1;
  if (snapshot && response.status >= 400 && response.status < 500) {
    tally.snapshots += 1;
    const usesHalf = spec.auth === 'half' || spec.auth === 'half-cookie';
    problems.push(...unexpectedChanges(snapshot, await takeSnapshot(server.deps.db), { revocableSessionHash: usesHalf ? hashToken(live.halfToken) : null }));
  }
  if (problems.length > 0) {
    throw new Error(`${problems.join('; ')}\nrequest (${spec.route}, auth ${spec.auth}):\n${describeWire(wire)}\nanswer ${response.status}: ${response.text.slice(0, 600)}`);
  }
  const mayHaveEndedASession = response.status < 400 && wire.method !== 'GET' && wire.method !== 'HEAD';
  if (runner.heal && (mayHaveEndedASession || tally.sent % 200 === 0)) {
    const started = Date.now();
    const rebuilt = await cast.heal();
    if (process.env.FUZZ_DEBUG && rebuilt) console.log(`# healed after ${spec.route} ${spec.auth} → ${response.status} (${Date.now() - started} ms)`);
  }
}

async function check(property: fc.IAsyncProperty<[RequestSpec]>, numRuns: number, seed: number): Promise<void> {
  // No shrinking: the server keeps state, so a shrunk replay is not the same experiment; the
  // failure message carries the exact request instead.
  const details = await fc.check(property, { numRuns, seed, endOnFailure: true });
  if (details.failed) {
    // The counterexample itself can be megabytes (huge strings, parameter floods); the error
    // thrown by `exercise` already describes the request, cut to a readable size.
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`property failed at run ${details.numRuns} (seed ${seed}, path "${details.counterexamplePath}"): ${cause}`);
  }
}

describe(`fuzzing every route [${DATABASE}]`, () => {
  let server: TestServer | null = null;
  let budgetServer: TestServer | null = null;
  const tallies: Tally[] = [];

  before(async () => {
    server = await startTestServer(DATABASE, { env: GENEROUS_LIMITS });
    // The real security budgets, and the real per-IP flood guard of the default configuration.
    budgetServer = await startTestServer(DATABASE, { env: { REQUESTS_PER_MINUTE_PER_IP: '1200', ...EMAIL_CAPS_OFF } });
  });

  after(async () => {
    closeAgent();
    await server?.close();
    await budgetServer?.close();
    const sent = tallies.reduce((sum, tally) => sum + tally.sent, 0);
    console.log(`# fuzz: ${sent} requests sent in all (seed ${SEED})`);
    if (process.env.FUZZ_DEBUG) console.log([...timeByRoute].sort(([, a], [, b]) => b - a).slice(0, 10).map(([route, ms]) => `# ${ms} ms in ${route}`).join('\n'));
  });

  it('answers generated and mutated requests to every OpenAPI operation without a 5xx or internals, and refusals change nothing', async () => {
    const operations = await loadOperations(server!.url);
    assert.ok(operations.length >= 20, `the OpenAPI document lists ${operations.length} operations`);
    const runner: Runner = { server: server!, cast: await Cast.create(server!), tally: newTally(), heal: true, backgroundWork: false };
    tallies.push(runner.tally);
    const requests = fc.oneof(...operations.map(apiRequest));
    await check(fc.asyncProperty(requests, (spec) => exercise(runner, spec)), API_RUNS, SEED);
    console.log(`# API: ${summary(runner.tally)}; casts built ${runner.cast.builds}`);
    assert.ok(runner.tally.sent >= API_RUNS, `${runner.tally.sent} requests sent, ${API_RUNS} asked for`);
    if (API_RUNS >= operations.length * 20) {
      const missed = operations.filter((operation) => !runner.tally.byRoute.has(`${operation.method} ${operation.path}`));
      assert.deepEqual(missed, [], 'every operation was fuzzed');
    }
    assert.ok(runner.tally.snapshots > 0 || API_RUNS < 50, 'some refusals were checked against snapshots');
    assert.deepEqual(errorLogLines(server!), [], 'nothing was logged at error level');
  });

  it('answers generated and mutated page forms and page loads without a 5xx or internals, and refusals change nothing', async () => {
    const runner: Runner = { server: server!, cast: await Cast.create(server!), tally: newTally(), heal: true, backgroundWork: false };
    tallies.push(runner.tally);
    const live = runner.cast.live();
    const cookies = ['', `twofold_session=${live.completeToken}`, `twofold_session=${live.halfToken}`];
    const forms = await loadFormRoutes(server!.app, server!.url, cookies);
    assert.ok(forms.length >= 10, `${forms.length} page forms found in the route catalog`);
    const pages = server!.app.routeCatalog.filter((route) => route.method === 'GET' && !route.url.startsWith('/api/') && !route.url.startsWith('/assets/'));
    const requests = fc.oneof({ weight: 4, arbitrary: fc.oneof(...forms.map(formRequest)) }, { weight: 1, arbitrary: fc.oneof(...pages.map((page) => pageGetRequest(page.url))) });
    await check(fc.asyncProperty(requests, (spec) => exercise(runner, spec)), PAGE_RUNS, SEED + 1);
    console.log(`# pages: ${summary(runner.tally)}; casts built ${runner.cast.builds}`);
    assert.ok(runner.tally.sent >= PAGE_RUNS, `${runner.tally.sent} requests sent, ${PAGE_RUNS} asked for`);
    assert.deepEqual(errorLogLines(server!), [], 'nothing was logged at error level');
  });

  it('under the real security budgets, answers password and code guesses with 429 once spent, never a 5xx', async () => {
    const runner: Runner = { server: budgetServer!, cast: await Cast.create(budgetServer!), tally: newTally(), heal: false, backgroundWork: false };
    tallies.push(runner.tally);
    const guarded = (await loadOperations(budgetServer!.url)).filter((operation) => /\/(login|signup|password|reauthenticate|invitations|disable-links)|\/2fa/.test(operation.path) && operation.method !== 'GET');
    assert.ok(guarded.length >= 8, `${guarded.length} guarded operations`);
    const requests = fc.oneof({ weight: 3, arbitrary: budgetGuess() }, { weight: 2, arbitrary: fc.oneof(...guarded.map(apiRequest)) });
    await check(fc.asyncProperty(requests, (spec) => exercise(runner, spec)), BUDGET_RUNS, SEED + 2);
    console.log(`# budgets: ${summary(runner.tally)}`);
    assert.ok(runner.tally.sent >= BUDGET_RUNS, `${runner.tally.sent} requests sent, ${BUDGET_RUNS} asked for`);
    if (BUDGET_RUNS >= 150) assert.ok((runner.tally.byStatus.get(429) ?? 0) > 0, 'the budgets were reached: some requests were answered 429');
    assert.ok(runner.tally.rateLimitedWithoutRetryAfter === 0, 'every 429 says when to retry (Retry-After)');
    assert.deepEqual(errorLogLines(budgetServer!), [], 'nothing was logged at error level');
  });
});
