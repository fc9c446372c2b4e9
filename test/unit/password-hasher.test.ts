/**
 * Admission control of password hashing (PERFORMANCE.md): at most `concurrency` hashes run at
 * once, at most `queue` wait, and the rest are refused at once instead of queueing for seconds.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
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
function threadNiceness(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('password hashing leaves the CPU to the event loop (issue #18 target 5)', { skip: process.platform !== 'linux' }, () => {
  it('hashes on threads started by the first hash, at the lowest priority, while the event loop keeps its own', async () => {
    const lowest = () => threadNiceness().filter((nice) => nice === 19).length;
    const before = lowest();
    const hasher = createPasswordHasher(2, 10);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(lowest(), before, 'no hashing thread before the first hash (idle memory)');
    const hashed = await hasher.hashPassword('correct horse battery');
    assert.ok(hashed.ok);
    const during = hasher.verifyPassword(hashed.value, 'correct horse battery');
    assert.ok(lowest() > before, 'the hash runs on a thread that lowered its priority');
    assert.deepEqual(await during, { ok: true, value: true });
    assert.equal(os.getPriority(), 0, 'the event loop (the process) keeps its priority');
  });

  it('a thread without work ends (its memory given back), and the next job starts one again', async () => {
    const lowest = () => threadNiceness().filter((nice) => nice === 19).length;
    const before = lowest();
    const threads = createArgon2Threads(2, 50);
    const parameters = { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 };
    const stored = String(await threads.run({ kind: 'hash', password: 'pw', parameters }));
    assert.ok(lowest() > before);
    for (let waited = 0; lowest() > before && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(lowest(), before, 'the idle thread ended');
    assert.equal(await threads.run({ kind: 'verify', storedHash: stored, password: 'pw' }), true);
  });
});
