#!/usr/bin/env node
// `npm test`: every *.test.ts under test/ through node's test runner with the tsx loader, in one
// report that ends with one summary of every test. Extra arguments are passed on:
// `npm test -- test/api` runs one folder, `npm test -- --test-name-pattern=csrf` filters, and
// `--test-concurrency=N` sets how many test processes run at once (default 4).
//
// How the files run, and why:
// - Every suite makes its own database (a fresh SQLite folder or PostgreSQL database), its own
//   server on a free port and its own Redis key prefix, so files can run side by side. The
//   machine has 2 cores, but much of a test is spent waiting (disk syncs, PostgreSQL, child
//   processes, the browser), so 4 processes keep both busy. PostgreSQL allows 100 connections;
//   a test server's pool takes up to 10 and a file runs at most three servers at once (about 30
//   at the peak of a run, measured).
// - A process that loads tsx and the app spends 2-5 s of CPU before its first test, so most
//   files are grouped, several to a process: node:test runs the tests of every file a process
//   imports, one file after the other. Grouped files share module state; a file whose own
//   file-level hooks must run around its own tests only keeps a process of its own: OWN_PROCESS.
// - Files that need a core of their own run after those, two side by side: SIDE_BY_SIDE. (Run
//   in the first phase, one at a time beside three others, the 100,000-user enforcement test
//   failed on the shared machine at load 16: its server was blocked past Node's 60 s
//   headersTimeout.)
// - Processes start longest first (SECONDS), each reported as a whole when it ends.
// - Files that measure time run last, one process with nothing beside it: ALONE.
// - CPU (user+sys of the whole process tree, `/usr/bin/time npm test`; PostgreSQL's own work
//   not included): 413 s before the cuts README.md lists under `npm test` (one bundle instead of
//   tsx in the `twofold` children, migrated template databases, cheap argon2id where no test
//   depends on its cost, short bench loads), 278 s after. On a machine shared with other test
//   runs, CPU is the figure that compares; wall time follows the neighbours' load.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

// node:test's run() starts the test processes with this process's flags: load tsx here.
if (!process.execArgv.some((arg) => arg.includes('tsx'))) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

const { run } = await import('node:test');
const reporters = await import('node:test/reporters');

const root = fileURLToPath(new URL('..', import.meta.url));

/** Measure time, so nothing else may run meanwhile: one process, after everything else. */
const ALONE = new Map([
  ['test/security/enumeration.test.ts', 'compares the medians of login answer times (rule 31)'],
  ['test/security/rules/i-enumeration-and-timing.test.ts', 'times answers from a separate client process (rule 31)'],
]);

/** Need a core of their own: run after the others, two at a time, each in its own process. */
const SIDE_BY_SIDE = new Map([
  // 28 CPU-s since its loads were cut to 0.3 s (was ~45); its time limit is 240 s.
  ['test/bench/bench-quick.test.ts', 'load generators and servers that take 1.5 cores while they run; starved, it runs into its 240 s limit'],
  // Queues 100,000 notices and delivers the first of them: ~90 s on SQLite and ~65 s on
  // PostgreSQL of one busy core; starved beside four others it would run into its limits.
  ['test/api/enforcement-flow.test.ts', 'a 100,000-user account keeps a core busy for minutes'],
]);

/** Keep a process of their own, beside the others: their file-level hooks must not be shared. */
const OWN_PROCESS = new Map([
  ['test/api/sms-provider-failure.test.ts', 'a file-level after() closes its fake SMS provider'],
  ['test/cli/support-disable.test.ts', 'file-level before() and after() start and stop its SMTP server'],
]);

/**
 * Seconds each slower file takes alone (`node --import tsx --test FILE` on the 2-core machine),
 * so the slowest start first and the groups come out even. A file not listed counts as
 * DEFAULT_SECONDS; the numbers only order the work, a wrong one costs time, not correctness.
 */
const SECONDS = {
  'test/cli/key-check.test.ts': 45,
  'test/delivery/delivery-queue-processes.test.ts': 30,
  'test/delivery/delivery-queue.test.ts': 28,
  'test/api/shutdown.test.ts': 15,
  'test/cli/cli.test.ts': 26,
  'test/crash/crash-safety.test.ts': 25,
  'test/cli/support-disable.test.ts': 24,
  'test/fuzz/fuzz.test.ts': 26,
  'test/security/rules/a-guessing.test.ts': 23,
  'test/browser/two-factor-app.test.ts': 23,
  'test/api/login-verify-limits.test.ts': 23,
  'test/cli/rotate-key.test.ts': 15,
  'test/browser/two-factor-enrollment.test.ts': 19,
  'test/browser/admin-settings.test.ts': 18,
  'test/security/rules/f-disabling-links-support.test.ts': 12,
  'test/api/multi-instance/three-instances.test.ts': 17,
  'test/security/rules/b-replay-and-races.test.ts': 16,
  'test/browser/sign-up-and-log-in.test.ts': 16,
  'test/browser/two-factor-sms.test.ts': 15,
  'test/api/login.test.ts': 14,
  'test/api/login-verify.test.ts': 14,
  'test/security/rules/d-enrollment.test.ts': 13,
  'test/browser/two-factor-disable.test.ts': 13,
  'test/api/disable-two-factor.test.ts': 13,
  'test/security/rules/g-sessions-browsers-csrf.test.ts': 12,
  'test/security/rules/c-half-authenticated.test.ts': 12,
  'test/api/sms-limits.test.ts': 12,
  'test/security/rules/e-sms.test.ts': 11,
  'test/browser/pages-http.test.ts': 11,
  'test/browser/disable-link.test.ts': 11,
};
const DEFAULT_SECONDS = 7;

function collect(path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [resolve(path)] : [];
  return readdirSync(path).sort().flatMap((entry) => collect(join(path, entry)));
}

const args = process.argv.slice(2);
const paths = args.filter((arg) => !arg.startsWith('-'));
const flags = args.filter((arg) => arg.startsWith('-'));
const options = { concurrency: 4, testNamePatterns: [], only: false, timeout: Infinity, reporter: 'spec' };
for (const flag of flags) {
  const [name, value] = flag.split(/=(.*)/s);
  if (name === '--test-name-pattern') options.testNamePatterns.push(value);
  else if (name === '--test-only') options.only = true;
  else if (name === '--test-concurrency' && Number(value) >= 1) options.concurrency = Number(value);
  else if (name === '--test-timeout' && Number(value) > 0) options.timeout = Number(value);
  else if (name === '--test-reporter' && value in reporters) options.reporter = value;
  else {
    console.error(`run-tests: cannot use ${flag} (known: --test-name-pattern=, --test-only, --test-concurrency=N, --test-timeout=MS, --test-reporter=spec|tap|dot|junit)`);
    process.exit(2);
  }
}

const files = [...new Set((paths.length > 0 ? paths : ['test']).flatMap(collect))];
const name = (file) => relative(root, file);
const seconds = (file) => SECONDS[name(file)] ?? DEFAULT_SECONDS;
const inside = (map) => files.filter((file) => map.has(name(file)));
const alone = inside(ALONE);
const sideBySide = inside(SIDE_BY_SIDE);
const own = inside(OWN_PROCESS);
const groupable = files.filter((file) => !ALONE.has(name(file)) && !SIDE_BY_SIDE.has(name(file)) && !OWN_PROCESS.has(name(file)));

const folder = mkdtempSync(join(tmpdir(), 'twofold-tests-'));

// Tests start the `twofold` command as a child about a hundred times (servers, support and
// migrate commands, the crash test's restarts); through the tsx loader each start costs about
// 2.5 CPU-seconds, from one bundle of src/ 0.9, from one bundle of src/ and its packages 0.4
// (test/helpers/twofold-command.ts). The same build as dist/ (scripts/build.mjs, what `npm start`
// runs), built fresh for every run, so it cannot go stale, into .test-build/ (git-ignored): one
// level below the root like src/, so app.ts finds ../public/, and beside node_modules for the
// packages left out of it. Files named after the run, so two runs in one worktree share none.
const { buildTwofold } = await import('./build.mjs');
const buildFolder = join(root, '.test-build');
const buildName = `twofold-${process.pid}`;
const bundle = await buildTwofold(buildFolder, buildName);
process.env.TWOFOLD_TEST_BIN = bundle;

/** A module that imports `group`'s files in order; a file that fails to load fails one test named after it. */
function groupEntry(label, group) {
  const entry = join(folder, `${label}.mjs`);
  const lines = [`import { test } from 'node:test';`];
  for (const file of group) {
    lines.push(`try { await import(${JSON.stringify(pathToFileURL(file).href)}); } catch (error) { test(${JSON.stringify(`${name(file)} could not be loaded`)}, () => { throw error; }); }`);
  }
  writeFileSync(entry, `${lines.join('\n')}\n`);
  return entry;
}

// Twice as many groups as processes, filled longest file first into the group with the least
// work so far, so the groups come out even and the run does not end on one long group.
const groups = Array.from({ length: Math.min(groupable.length, options.concurrency * 2) }, () => ({ files: [], seconds: 0 }));
for (const file of [...groupable].sort((a, b) => seconds(b) - seconds(a))) {
  const lightest = groups.reduce((least, group) => (group.seconds < least.seconds ? group : least));
  lightest.files.push(file);
  lightest.seconds += seconds(file);
}
// The processes of the first phase longest first, so the short ones fill in at the end.
const parallel = [...groups.map((group, index) => ({ file: groupEntry(`group-${index + 1}`, group.files), seconds: group.seconds })), ...own.map((file) => ({ file, seconds: seconds(file) }))]
  .sort((a, b) => b.seconds - a.seconds)
  .map((entry) => entry.file);
const timed = alone.length > 0 ? [groupEntry('alone', alone)] : [];

console.log(`# ${files.length} test files: ${groupable.length} in ${groups.length} groups and ${own.length} in processes of their own, ${options.concurrency} processes at a time; then ${sideBySide.length} side by side (${sideBySide.map(name).join(', ') || '-'}); then ${alone.length} alone (${alone.map(name).join(', ') || '-'})`);

const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/;
const totals = { tests: 0, suites: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const started = performance.now();
const events = new PassThrough({ objectMode: true });
// spec is a Transform class; the other reporters are generator functions.
const report = events.compose(options.reporter === 'spec' ? new reporters.spec() : reporters[options.reporter]);
report.pipe(process.stdout);
const reported = once(report, 'end');

/**
 * Runs one process (a group or a file) and reports its events once it ends: processes run side
 * by side, and their events interleaved would tangle the report's nesting. Its summary is added
 * to the totals instead of reported.
 */
async function runProcess(file) {
  const stream = run({ files: [file], concurrency: 1, testNamePatterns: options.testNamePatterns.length > 0 ? options.testNamePatterns : undefined, only: options.only, timeout: options.timeout });
  const held = [];
  let summarized = false;
  for await (const event of stream) {
    const summary = event.type === 'test:diagnostic' && event.data.nesting === 0 ? SUMMARY.exec(event.data.message) : null;
    if (summary) {
      summarized = true;
      if (summary[1] in totals) totals[summary[1]] += Number(summary[2]);
    } else {
      held.push(event);
    }
  }
  for (const event of held) events.write(event);
  // A process that ended without its summary did not finish: count that as a failure.
  if (!summarized) totals.fail += 1;
}

/** Runs `files`, each in a process, up to `concurrency` at once, in order. */
async function runPool(files, concurrency) {
  const waiting = [...files];
  const running = new Set();
  while (waiting.length > 0 || running.size > 0) {
    if (waiting.length === 0 || running.size >= concurrency) {
      await Promise.race(running);
      continue;
    }
    const done = runProcess(waiting.shift()).finally(() => running.delete(done));
    running.add(done);
  }
}

try {
  await runPool(parallel, options.concurrency);
  await runPool(sideBySide, 2);
  await runPool(timed, 1);
} finally {
  rmSync(folder, { recursive: true, force: true });
  for (const file of readdirSync(buildFolder)) if (file === `${buildName}.js` || file.startsWith(`${buildName}-chunk-`)) rmSync(join(buildFolder, file), { force: true });
}
for (const [key, value] of Object.entries(totals)) events.write({ type: 'test:diagnostic', data: { nesting: 0, message: `${key} ${value}` } });
events.write({ type: 'test:diagnostic', data: { nesting: 0, message: `duration_ms ${performance.now() - started}` } });
events.end();
await reported;
process.exitCode = totals.fail > 0 || totals.cancelled > 0 ? 1 : 0;
