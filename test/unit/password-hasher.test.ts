/**
 * Admission control of password hashing (PERFORMANCE.md): at most `concurrency` hashes run at
 * once, at most `queue` wait, and the rest are refused at once instead of queueing for seconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
