/**
 * The counter store behind the per-IP limits (failed passwords per IP, sign-ups per IP), the
 * e-mail caps of rule 44 (reset e-mails per address and IP, invitations per account) and the
 * SMS send caps (per number, per account, per IP): the database by default, Redis when
 * REDIS_URL is set (see redis-counters.ts). Both are shared by every instance and count first,
 * then let the caller check (SECURITY.md rule 1), so a concurrent burst across instances cannot
 * all read "below the limit".
 *
 * The per-user and per-email security budgets (wrong second-factor codes, failed passwords per
 * email, disable links per user) do not use this store: they stay in the database, because rule 1
 * asks for shared storage that survives restarts and Twofold's Redis keeps nothing on disk.
 */
import type { Clock } from '../clock.ts';
import type { Database } from '../storage/schema.ts';
import { clearCounter, hitCounter, undoHit, type CounterState } from './counters.ts';

export interface LimitCounters {
  readonly backend: 'database' | 'redis';
  /** Adds one and returns the count including this hit; throws LimitsUnavailableError when the store does not answer. */
  hit(key: string, windowMs: number): Promise<CounterState>;
  /** Takes back one hit. Best effort: a give-back that fails leaves the charge, which errs on the safe side. */
  undo(key: string): Promise<void>;
  clear(key: string): Promise<void>;
  /** Resolves once the store can answer (or has tried long enough to say it cannot). */
  ready(): Promise<void>;
  /** Whether the store answers now (for /readyz); never throws. */
  answers(): Promise<boolean>;
  close(): Promise<void>;
  /**
   * Counts one request of the coarse per-IP flood guard in this shared store (http/ adapts it to
   * @fastify/rate-limit); absent means the guard counts in each instance's own memory. Throws
   * LimitsUnavailableError when the store does not answer.
   */
  floodGuardHit?(key: string, windowMs: number): Promise<FloodGuardHit>;
}

/** One request counted by the flood guard: the count including it, and what is left of its window. */
export interface FloodGuardHit {
  count: number;
  ttlMs: number;
}

/** Seconds a client is asked to wait when the limits cannot be checked. */
export const LIMITS_UNAVAILABLE_RETRY_SECONDS = 5;

/**
 * The counter store did not answer, so the limits cannot be checked: the request is refused
 * (fail closed) rather than let through unlimited. A domain error: http/plugins/errors.ts
 * answers it as 503 `limits_unavailable` with Retry-After, from any route.
 */
export class LimitsUnavailableError extends Error {
  override readonly name = 'LimitsUnavailableError';
  /** How long the client is asked to wait before it tries again. */
  readonly retryAfterSeconds = LIMITS_UNAVAILABLE_RETRY_SECONDS;
  constructor(readonly reason: string) {
    super(`The limit counters do not answer: ${reason}`);
  }
}

export function databaseLimitCounters(db: Database, clock: Clock): LimitCounters {
  return {
    backend: 'database',
    hit: (key, windowMs) => hitCounter(db, clock, key, windowMs),
    undo: (key) => undoHit(db, key),
    clear: (key) => clearCounter(db, key),
    ready: async () => undefined,
    // The database is what /readyz checks anyway.
    answers: async () => true,
    close: async () => undefined,
  };
}

/**
 * Hits every key or none: if a later hit fails, the earlier ones are given back before the
 * error goes on, so a request refused because the store went away has charged nothing.
 */
export async function hitEach(counters: LimitCounters, keys: readonly string[], windowMs: number): Promise<CounterState[]> {
  const states: CounterState[] = [];
  try {
    for (const key of keys) states.push(await counters.hit(key, windowMs));
  } catch (error) {
    for (const key of keys.slice(0, states.length)) await counters.undo(key);
    throw error;
  }
  return states;
}
