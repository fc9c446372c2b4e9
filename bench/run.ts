/**
 * `npm run bench`: Twofold's hot paths measured against a bare Fastify route in the same run,
 * on SQLite and PostgreSQL, with the targets of issue #7 (options: bench/options.ts).
 * Absolute numbers on a shared machine mean little; the ratios to the bare route travel.
 *
 * Per database, one server on a seeded database:
 *   bare route           the yardstick (its own process)
 *   session check        GET /api/v1/me, complete sessions            ≥ 50% of bare
 *   second step          POST /api/v1/login/verify, fresh sessions    ≥ 25% of bare
 *   full login           password + TOTP, back to back
 *   session check idle / during a password-login flood, fixed rate   p99 ≤ 3× idle
 *   resident memory      just started ≤ 90 MB; peak under load ≤ 200 MB; /healthz within 1 s
 * Then a scale comparison: login, session check and the Users page's first page on a database
 * of --users users (its big account up to 100,000) against one of --base-users: within 1.5×;
 * and that Users page against the bare route: ≥ 0.3×.
 * The targets of issue #18 that this file judges are the constants below (#18's 1, 2 and 6).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from '../test/helpers/databases.ts';
import { TEST_ENCRYPTION_KEY } from '../test/helpers/server.ts';
import type { LoadFigures } from './load.ts';
import { loginTargetRows, measureBareArgon2Verify } from './login-targets.ts';
import { parseBenchOptions, type BenchOptions } from './options.ts';
import { describeMachine, loadRow, machineLine, memoryRow, textTable, timeRow, writeResults, type BenchResults, type ResultRow } from './report.ts';
import { measureBareRoute, measureFullLogins, measurePasswordLogins, measureSecondStep, measureSessionCheck, measureSessionCheckDuringFlood, measureUsersPage } from './scenarios.ts';
import { seedDatabase, type SeededData, type SeedPlan } from './seed.ts';
import { peakResidentMB, residentMB, startBareServer, startTwofoldServer, type RunningServer, type TwofoldServer } from './servers.ts';

/** Issue #18, target 1: the compiled server just started, its peak under the benchmark, its start. */
const STARTED_RSS_LIMIT_MB = 90;
const PEAK_RSS_LIMIT_MB = 200;
const HEALTHZ_LIMIT_MS = 1000;
/** Issue #18, target 2: GET /api/v1/me at c=50 against the bare route. */
const SESSION_CHECK_TO_BARE: Record<DatabaseKind, number> = { sqlite: 0.6, postgres: 0.3 };
/** Issue #18, target 6: the first Users page of the 100,000-user account against the bare route. */
const USERS_PAGE_TO_BARE = 0.3;

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A target is met only when the load also ran without errors. */
const clean = (figures: LoadFigures) => figures.errors === 0;

/** Where the servers' own logs go, and what they logged at error level. */
const logFolder = mkdtempSync(join(tmpdir(), 'twofold-bench-logs-'));
const serverErrors: BenchResults['serverErrors'] = [];

/** A seeded database and, once started, the server on it. */
interface Setup {
  name: string;
  database: TestDatabase;
  seeded: SeededData;
  server: TwofoldServer | null;
  /** Resident memory a few seconds after it first answered, before any load. */
  startedMB?: number;
}

async function seedSetup(kind: DatabaseKind, name: string, plan: SeedPlan, setups: Setup[]): Promise<Setup> {
  const database = await createTestDatabase(kind);
  const started = performance.now();
  const setup: Setup = { name: `${kind}-${name}`, database, seeded: await seedDatabase(database.url, TEST_ENCRYPTION_KEY, plan).catch(async (error) => {
    await database.drop();
    throw error;
  }), server: null };
  setups.push(setup);
  log(`${setup.name}: seeded ${plan.totalUsers.toLocaleString('en-US')} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return setup;
}

async function startServer(setup: Setup, options: BenchOptions): Promise<void> {
  setup.server = await startTwofoldServer({
    databaseURL: setup.database.url,
    encryptionKey: TEST_ENCRYPTION_KEY,
    logPath: join(logFolder, `${setup.name}.log`),
    cpuProfileDir: options.cpuProfileDir ? join(options.cpuProfileDir, setup.name) : undefined,
  });
  // "Just started": settled for a few seconds after its first answer, before any load.
  await sleep(options.quick ? 200 : 3000);
  setup.startedMB = residentMB(setup.server.pid);
}

async function tearDown(setup: Setup): Promise<void> {
  try {
    if (setup.server) {
      await setup.server.stop();
      const errors = setup.server.errorLines();
      serverErrors.push({ server: setup.name, lines: errors.length, first: errors[0] ?? null });
      if (errors.length > 0) log(`${setup.name}: the server logged ${errors.length} errors, see ${setup.server.logPath}`);
    }
  } finally {
    await setup.database.drop();
  }
}

async function warmUp(server: RunningServer, tokens: string[], emails: string[], options: BenchOptions): Promise<void> {
  await measureSessionCheck(server.url, tokens, { seconds: options.warmupSeconds, connections: 10 });
  await measurePasswordLogins(server.url, emails, { seconds: options.warmupSeconds, connections: 2 });
}

function hotPathPlan(options: BenchOptions): SeedPlan {
  const pools = options.verifyPool + options.fullLoginPool + options.sessionTokens + options.loginEmails;
  // Twice the users the pools take, so picking them at random stays quick and spread out.
  return { totalUsers: 2 * pools + 1000, bigAccountUsers: 1000, accountSize: 100, verifyPool: options.verifyPool, fullLoginPool: options.fullLoginPool, completeSessions: options.sessionTokens, loginEmails: options.loginEmails };
}

function scalePlan(users: number, options: BenchOptions): SeedPlan {
  return {
    totalUsers: users,
    bigAccountUsers: Math.min(100_000, Math.max(1, Math.floor(users / 10))),
    accountSize: 100,
    verifyPool: 0,
    fullLoginPool: 0,
    completeSessions: options.sessionTokens,
    loginEmails: options.loginEmails,
  };
}

async function benchHotPaths(kind: DatabaseKind, setup: Setup, bare: RunningServer, options: BenchOptions): Promise<ResultRow[]> {
  const server = setup.server!;
  const seeded = setup.seeded;
  const shape = { seconds: options.seconds, connections: options.connections };
  await warmUp(server, seeded.completeTokens, seeded.loginEmails, options);
  await measureBareRoute(bare.url, { seconds: options.warmupSeconds, connections: options.connections });
  const startedMB = setup.startedMB!;

  log(`${kind}: bare route`);
  const bareRoute = await measureBareRoute(bare.url, shape);
  const toBare = (figures: LoadFigures) => figures.requestsPerSecond / bareRoute.requestsPerSecond;
  log(`${kind}: session check`);
  const sessionCheck = await measureSessionCheck(server.url, seeded.completeTokens, shape);
  log(`${kind}: second step`);
  const secondStep = await measureSecondStep(server.url, seeded.halfSessions, shape);
  log(`${kind}: full logins`);
  const fullLogin = await measureFullLogins(server.url, seeded.fullLoginUsers, options.seconds, options.fullLoginConcurrency);
  log(`${kind}: bare argon2id verify loop`);
  const bareArgon2 = await measureBareArgon2Verify(options.seconds, options.fullLoginConcurrency);
  log(`${kind}: session check at ${options.sessionCheckRate}/s, idle then during a login flood`);
  const rateShape = { seconds: options.seconds, connections: 10, rate: options.sessionCheckRate };
  const idleRate = await measureSessionCheck(server.url, seeded.completeTokens, rateShape);
  const { sessionCheck: duringFlood, flood } = await measureSessionCheckDuringFlood(server.url, seeded, rateShape, { connections: options.floodConnections });
  const peakMB = peakResidentMB(server.pid);

  const sessionRatio = toBare(sessionCheck);
  const stepRatio = toBare(secondStep);
  const floodRatio = duringFlood.p99Ms / Math.max(idleRate.p99Ms, 0.001);
  return [
    loadRow(kind, 'bare-route', 'bare Fastify route (yardstick)', bareRoute, { ratio: 1, ratioOf: '' }),
    loadRow(kind, 'session-check', 'session check GET /me', sessionCheck, { ratio: sessionRatio, ratioOf: '× bare', target: `≥ ${SESSION_CHECK_TO_BARE[kind].toFixed(2)} × bare`, met: sessionRatio >= SESSION_CHECK_TO_BARE[kind] && clean(sessionCheck) }),
    loadRow(kind, 'login-verify', 'second step POST /login/verify', secondStep, { ratio: stepRatio, ratioOf: '× bare', target: '≥ 0.25 × bare', met: stepRatio >= 0.25 && clean(secondStep) }),
    loadRow(kind, 'full-login', `full password + TOTP logins (${options.fullLoginConcurrency} at once; per login)`, fullLogin, { ratio: toBare(fullLogin), ratioOf: '× bare' }),
    loadRow(kind, 'session-check-rate-idle', `session check at ${options.sessionCheckRate}/s, idle`, idleRate),
    loadRow(kind, 'session-check-rate-during-flood', `session check at ${options.sessionCheckRate}/s during the login flood`, duringFlood, { ratio: floodRatio, ratioOf: '× idle p99', target: 'p99 ≤ 3 × idle', met: floodRatio <= 3 && clean(duringFlood) }),
    loadRow(kind, 'password-login-flood', `the flood: POST /login, ${options.floodConnections} connections`, flood, { ratio: toBare(flood), ratioOf: '× bare' }),
    memoryRow(kind, 'rss-idle', 'server RSS just started (3 s after its first answer)', startedMB, { text: `≤ ${STARTED_RSS_LIMIT_MB} MB`, met: startedMB <= STARTED_RSS_LIMIT_MB }),
    memoryRow(kind, 'rss-peak', 'server RSS peak (VmHWM, under load)', peakMB, { text: `≤ ${PEAK_RSS_LIMIT_MB} MB`, met: peakMB <= PEAK_RSS_LIMIT_MB }),
    timeRow(kind, 'healthz-after-start', 'from start to the first /healthz answer (started alone)', server.startedInMs, { text: `≤ ${HEALTHZ_LIMIT_MS} ms`, met: server.startedInMs <= HEALTHZ_LIMIT_MS }),
    ...loginTargetRows(kind, { secondStep, fullLogin, bareArgon2, fullLoginConcurrency: options.fullLoginConcurrency, sessionCheckIdle: idleRate, sessionCheckDuringFlood: duringFlood }),
  ];
}

interface ScaleFigures {
  login: LoadFigures;
  sessionCheck: LoadFigures;
  usersPage: LoadFigures;
}

async function benchScale(kind: DatabaseKind, setup: Setup, users: number, options: BenchOptions): Promise<ScaleFigures> {
  const server = setup.server!;
  const shape = { seconds: options.seconds, connections: options.connections };
  await warmUp(server, setup.seeded.completeTokens, setup.seeded.loginEmails, options);
  log(`${kind}: ${users.toLocaleString('en-US')} users: login, session check, Users page`);
  const login = await measurePasswordLogins(server.url, setup.seeded.loginEmails, { seconds: options.seconds, connections: options.loginConnections });
  const sessionCheck = await measureSessionCheck(server.url, setup.seeded.completeTokens, shape);
  const usersPage = await measureUsersPage(server.url, setup.seeded.adminToken, shape);
  return { login, sessionCheck, usersPage };
}

/** How much worse the large database does: the larger of the throughput drop and the p50 rise. */
function slowdown(base: LoadFigures, large: LoadFigures): number {
  return Math.max(base.requestsPerSecond / Math.max(large.requestsPerSecond, 0.001), large.p50Ms / Math.max(base.p50Ms, 0.001));
}

function scaleRows(kind: DatabaseKind, base: ScaleFigures, large: ScaleFigures, bareRequestsPerSecond: number, options: BenchOptions): ResultRow[] {
  const baseName = `${options.scaleBaseUsers.toLocaleString('en-US')} users`;
  const largeName = `${options.scaleUsers.toLocaleString('en-US')} users`;
  const bigAccount = Math.min(100_000, Math.floor(options.scaleUsers / 10)).toLocaleString('en-US');
  const judged = (baseFigures: LoadFigures, largeFigures: LoadFigures) => {
    const ratio = slowdown(baseFigures, largeFigures);
    return { ratio, ratioOf: `× ${baseName}`, target: '≤ 1.5 × small db', met: ratio <= 1.5 && clean(largeFigures) };
  };
  return [
    loadRow(kind, 'scale-base-login', `${baseName}: password step POST /login`, base.login),
    loadRow(kind, 'scale-base-session-check', `${baseName}: session check`, base.sessionCheck),
    loadRow(kind, 'scale-base-users-page', `${baseName}: Users page, first page`, base.usersPage),
    loadRow(kind, 'scale-large-login', `${largeName}: password step POST /login`, large.login, judged(base.login, large.login)),
    loadRow(kind, 'scale-large-session-check', `${largeName}: session check`, large.sessionCheck, judged(base.sessionCheck, large.sessionCheck)),
    loadRow(kind, 'scale-large-users-page', `${largeName}: Users page of the ${bigAccount}-user account`, large.usersPage, judged(base.usersPage, large.usersPage)),
    usersPageToBare(kind, large.usersPage, bareRequestsPerSecond, bigAccount),
  ];
}

function usersPageToBare(kind: DatabaseKind, usersPage: LoadFigures, bareRequestsPerSecond: number, bigAccount: string): ResultRow {
  const ratio = usersPage.requestsPerSecond / bareRequestsPerSecond;
  return loadRow(kind, 'scale-large-users-page-vs-bare', `… the same Users page (${bigAccount}-user account) against the bare route`, usersPage, {
    ratio,
    ratioOf: '× bare',
    target: `≥ ${USERS_PAGE_TO_BARE.toFixed(2)} × bare`,
    met: ratio >= USERS_PAGE_TO_BARE && clean(usersPage),
  });
}

/**
 * One database kind: three seeded databases (hot paths, small, large), their servers started
 * together (an idle server costs nothing, and waiting for three start-ups in turn would
 * dominate a quick run), then measured one at a time. The hot-path database is seeded last:
 * its half-authenticated sessions expire ten minutes after seeding.
 */
async function benchDatabase(kind: DatabaseKind, bare: RunningServer, options: BenchOptions): Promise<ResultRow[]> {
  const setups: Setup[] = [];
  try {
    const small = await seedSetup(kind, `scale-${options.scaleBaseUsers}`, scalePlan(options.scaleBaseUsers, options), setups);
    const large = await seedSetup(kind, `scale-${options.scaleUsers}`, scalePlan(options.scaleUsers, options), setups);
    const hot = await seedSetup(kind, 'hot-paths', hotPathPlan(options), setups);
    // The hot-path server starts alone, so its time to the first answer is its own; the other two
    // then together. allSettled: a server that fails to start must not leave the others running unowned.
    await startServer(hot, options);
    const started = await Promise.allSettled([small, large].map((setup) => startServer(setup, options)));
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    log(`${kind}: servers answering`);
    const rows = await benchHotPaths(kind, hot, bare, options);
    const baseFigures = await benchScale(kind, small, options.scaleBaseUsers, options);
    const largeFigures = await benchScale(kind, large, options.scaleUsers, options);
    const bareRequestsPerSecond = rows.find((row) => row.id === 'bare-route')!.requestsPerSecond!;
    return [...rows, ...scaleRows(kind, baseFigures, largeFigures, bareRequestsPerSecond, options)];
  } finally {
    for (const setup of setups) await tearDown(setup);
  }
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  const results: BenchResults = {
    date: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    machine: describeMachine(),
    settings: { ...options },
    rows: [],
    serverErrors,
  };
  log(`${results.mode} run on ${machineLine(results.machine)}`);
  const bare = await startBareServer();
  try {
    for (const kind of options.databases) {
      results.rows.push(...(await benchDatabase(kind, bare, options)));
      console.log(`\n${kind} (${options.seconds} s per load)\n${textTable(results, kind)}\n`);
    }
  } finally {
    await bare.stop();
  }
  writeResults(options.out, results);
  log(`wrote ${options.out}`);
  // The servers' logs are kept only when they hold something to look at.
  if (serverErrors.every((entry) => entry.lines === 0)) rmSync(logFolder, { recursive: true, force: true });
}

await main();
