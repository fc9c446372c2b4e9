/**
 * Admission control of password hashing (PERFORMANCE.md): at most `concurrency` hashes run at
 * once, at most `queue` wait, and the rest are refused at once instead of queueing for seconds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createArgon2Threads } from '../../src/crypto/argon2-threads.ts';
import { createPasswordHasher } from '../../src/crypto/password-hasher.ts';

describe('password hasher', () => {
  it('hashes with argon2id at the OWASP parameters and verifies only the right password', async () => {
    const hasher = createPasswordHasher(2, 10);
    const hashed = await hasher.hashPassword('correct horse battery');
    assert.ok(hashed.ok);
    assert.match(hashed.value, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.deepEqual(await hasher.verifyPassword(hashed.value, 'correct horse battery'), { ok: true, value: true });
    assert.deepEqual(await hasher.verifyPassword(hashed.value, 'wrong'), { ok: true, value: false });
    assert.deepEqual(await hasher.verifyPassword('not a hash', 'wrong'), { ok: true, value: false });
  });

  it('refuses requests beyond the running slots and the queue at once, and serves the rest', async () => {
    const hasher = createPasswordHasher(1, 2);
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => hasher.verifyAgainstDummy('guess')));
    assert.equal(outcomes.filter((o) => o.ok).length, 3, 'one running and two queued');
    assert.equal(outcomes.filter((o) => !o.ok && o.reason === 'busy').length, 3);
    const later = await hasher.verifyAgainstDummy('guess');
    assert.ok(later.ok, 'slots are given back after the burst');
  });
});

/** Niceness of each of this process's threads (field 19 of /proc/self/task/TID/stat). */
/** Ids of this process's threads at the lowest priority (niceness 19). */
function lowestPriorityThreads(): Set<string> {
  const lowest = new Set<string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) === 19) lowest.add(tid);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return lowest;
}

/**
 * How many threads at the lowest priority exist now that did not at `before`. Counted by thread
 * id, not in total: the test runner may run other files in this process, whose hashing threads
 * end on their own schedule.
 */
function newLowestPriorityThreads(before: Set<string>): number {
  return [...lowestPriorityThreads()].filter((tid) => !before.has(tid)).length;
}

describe('password hashing leaves the CPU to the event loop (issue #18 target 5)', { skip: process.platform !== 'linux' }, () => {
  it('hashes on threads started by the first hash, at the lowest priority, while the event loop keeps its own', async () => {
    const before = lowestPriorityThreads();
    const hasher = createPasswordHasher(2, 10);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(newLowestPriorityThreads(before), 0, 'no hashing thread before the first hash (idle memory)');
    const hashed = await hasher.hashPassword('correct horse battery');
    assert.ok(hashed.ok);
    const during = hasher.verifyPassword(hashed.value, 'correct horse battery');
    assert.ok(newLowestPriorityThreads(before) > 0, 'the hash runs on a thread that lowered its priority');
    assert.deepEqual(await during, { ok: true, value: true });
    assert.equal(os.getPriority(), 0, 'the event loop (the process) keeps its priority');
  });

  it('a thread without work ends (its memory given back), and the next job starts one again', async () => {
    const before = lowestPriorityThreads();
    const threads = createArgon2Threads(2, 50);
    const parameters = { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 };
    const stored = String(await threads.run({ kind: 'hash', password: 'pw', parameters }));
    assert.ok(newLowestPriorityThreads(before) > 0);
    for (let waited = 0; newLowestPriorityThreads(before) > 0 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(newLowestPriorityThreads(before), 0, 'the idle thread ended');
    assert.equal(await threads.run({ kind: 'verify', storedHash: stored, password: 'pw' }), true);
  });
});

describe('hashing threads and the server memory (issue #18, peak ≤ 200 MB)', () => {
  it('keeps the young generation at the size the command set after a hashing thread has started', () => {
    // A fresh process, as bin/twofold.js starts one: the flag first, then the code. The test's own
    // process has grown its young generation long ago (loading tsx, other tests).
    const script = `
      import { setFlagsFromString, getHeapSpaceStatistics } from 'node:v8';
      setFlagsFromString('--semi-space-growth-factor=1');
      const { createArgon2Threads } = await import(${JSON.stringify(new URL('../../src/crypto/argon2-threads.ts', import.meta.url).href)});
      const youngMB = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size / 1048576;
      const before = youngMB();
      const threads = createArgon2Threads(1, 50);
      await threads.run({ kind: 'hash', password: 'pw', parameters: { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 } });
      // Garbage that survives scavenges: what makes V8 grow the young generation when it may.
      let kept = [];
      for (let i = 0; i < 3_000_000; i += 1) { kept.push({ i, text: 'x' + i }); if (kept.length > 200_000) kept = []; }
      console.log(JSON.stringify({ before, after: youngMB() }));
    `;
    // A file, not -e: --input-type=module would reach the worker's own (CommonJS) source too.
    const folder = mkdtempSync(join(tmpdir(), 'twofold-young-'));
    const file = join(folder, 'young-generation.mjs');
    writeFileSync(file, script);
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
    rmSync(folder, { recursive: true, force: true });
    assert.equal(run.status, 0, run.stderr);
    const { before, after } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { before: number; after: number };
    assert.equal(after, before, `the young generation grew from ${before} to ${after} MB: the thread's start undid the command's limit`);
  });
});
