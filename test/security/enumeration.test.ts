/**
 * User enumeration by timing (SECURITY.md rule 31): an unknown email costs the same argon2id
 * work as a known one, so the medians stay close. The margin is wide (2x) because the machine
 * is shared; without the dummy hash the unknown email answers about 20x faster and fails here.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

forEachDatabase('enumeration by timing', (context) => {
  it('takes about as long to refuse an unknown email as a wrong password for a known one', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 16; i += 1) {
      if (i % 8 === 7) server.clock.advance(15 * 60_000 + 1); // stay below the failed-password lock
      for (const [email, sink] of [[admin.email, known], [uniqueEmail('ghost'), unknown]] as const) {
        const started = performance.now();
        const response = await api.post('/login', { email, password: `wrong password ${i}` });
        sink.push(performance.now() - started);
        assert.equal(response.status, 401);
      }
    }
    const ratio = median(unknown) / median(known);
    assert.ok(ratio > 0.5 && ratio < 2, `unknown/known median ratio ${ratio.toFixed(2)} (known ${median(known).toFixed(1)} ms, unknown ${median(unknown).toFixed(1)} ms)`);
  });
}, { productionPasswordCost: true }); // rule 31: the answer times compared include argon2id at its real cost
