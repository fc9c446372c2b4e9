/**
 * Password hashing with argon2id at the OWASP parameters (m=19 MiB, t=2, p=1), computed off the
 * event loop on low-priority threads of our own (argon2-threads.ts: the event loop gets a core
 * first, so a login flood does not delay session checks) and with bounded concurrency: at most
 * `concurrency` hashes run at once and at most `queueLimit` wait. Past that the caller gets
 * `busy` at once, so a flood of logins cannot make every other request wait (PERFORMANCE.md,
 * the Better Auth lesson).
 */
import { hash, type Algorithm } from '@node-rs/argon2';
import { createArgon2Threads } from './argon2-threads.ts';

// Algorithm is an ambient const enum, which isolated modules cannot read: 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

/** argon2id's memory (KiB) and passes. */
export interface Argon2Cost {
  memoryCost: number;
  timeCost: number;
}

const OWASP_COST: Argon2Cost = { memoryCost: 19_456, timeCost: 2 };

export type HashOutcome<T> = { ok: true; value: T } | { ok: false; reason: 'busy' };

export interface PasswordHasher {
  hashPassword(password: string): Promise<HashOutcome<string>>;
  verifyPassword(storedHash: string, password: string): Promise<HashOutcome<boolean>>;
  /** Same cost as a real verification, for unknown emails (SECURITY.md rule 31). */
  verifyAgainstDummy(password: string): Promise<HashOutcome<boolean>>;
}

/**
 * `cost` is for tests only: their in-process servers hash cheaply where no test depends on the
 * cost (test/helpers/server.ts). Production cannot lower it: no configuration variable reaches
 * it, and src/ never passes it (src/ does not import test/, dependency-cruiser checks that).
 */
export function createPasswordHasher(concurrency: number, queueLimit: number, cost: Argon2Cost = OWASP_COST): PasswordHasher {
  const parameters = { algorithm: ARGON2ID, ...cost, parallelism: 1 };
  const threads = createArgon2Threads(concurrency);
  let running = 0;
  const waiting: Array<() => void> = [];
  // Computed once up front so the first unknown email costs the same as every later one. On the
  // binding's own pool: one hash at start needs no thread of ours (those start on the first login).
  const dummyHash = hash('dummy password for unknown emails', parameters);

  async function withSlot<T>(work: () => Promise<T>): Promise<HashOutcome<T>> {
    if (running >= concurrency) {
      if (waiting.length >= queueLimit) return { ok: false, reason: 'busy' };
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      running += 1;
    }
    try {
      return { ok: true, value: await work() };
    } finally {
      const next = waiting.shift();
      // Hand the slot straight to the next waiter; only free it when nobody waits.
      if (next) next();
      else running -= 1;
    }
  }

  async function safeVerify(storedHash: string, password: string): Promise<boolean> {
    try {
      return (await threads.run({ kind: 'verify', storedHash, password })) === true;
    } catch {
      return false; // a malformed stored hash never verifies
    }
  }

  return {
    hashPassword: (password) => withSlot(async () => String(await threads.run({ kind: 'hash', password, parameters }))),
    verifyPassword: (storedHash, password) => withSlot(() => safeVerify(storedHash, password)),
    verifyAgainstDummy: (password) =>
      withSlot(async () => {
        await safeVerify(await dummyHash, password);
        return false;
      }),
  };
}
