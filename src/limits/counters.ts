/**
 * Fixed-window counters in the database, shared by every instance: failed passwords per email
 * and per IP, sign-ups per IP, wrong codes per user. Each hit is one atomic upsert that returns
 * the new count, so concurrent requests can never all read "below the limit" (SECURITY.md rule 1:
 * count first, then check).
 */
import { sql } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database } from '../storage/schema.ts';

export interface CounterState {
  count: number;
  /** When the current window ends; a count is forgotten after that. */
  resetsAt: number;
}

/** Adds one and returns the count including this hit. */
export async function hitCounter(db: Database, clock: Clock, key: string, windowMs: number): Promise<CounterState> {
  const now = clock.now();
  const staleBefore = now - windowMs;
  const row = await db
    .insertInto('rate_limit_counters')
    .values({ key, window_started_at: now, count: 1 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        // A window that has run out starts again at this hit.
        count: sql<number>`case when rate_limit_counters.window_started_at <= ${staleBefore} then 1 else rate_limit_counters.count + 1 end`,
        window_started_at: sql<number>`case when rate_limit_counters.window_started_at <= ${staleBefore} then ${now} else rate_limit_counters.window_started_at end`,
      }),
    )
    .returning(['count', 'window_started_at'])
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), resetsAt: Number(row.window_started_at) + windowMs };
}

/** Takes back one hit (a request that was charged up front and turned out fine). */
export async function undoHit(db: Database, key: string): Promise<void> {
  await db.updateTable('rate_limit_counters').set({ count: sql<number>`case when count > 0 then count - 1 else 0 end` }).where('key', '=', key).execute();
}

export async function clearCounter(db: Database, key: string): Promise<void> {
  await db.deleteFrom('rate_limit_counters').where('key', '=', key).execute();
}

export function retryAfterSeconds(clock: Clock, state: CounterState): number {
  return Math.max(1, Math.ceil((state.resetsAt - clock.now()) / 1000));
}

export type LimitedCharge = { ok: true; state: CounterState } | { ok: false; state: CounterState; retryAfterSeconds: number };

/**
 * Charges one hit before the thing counted is evaluated (rule 1: count first, then check). A hit
 * past `limit` is refused and given back at once: it was never evaluated, so it neither counts as
 * a failure nor extends the window.
 */
export async function chargeWithinLimit(db: Database, clock: Clock, key: string, windowMs: number, limit: number): Promise<LimitedCharge> {
  const state = await hitCounter(db, clock, key, windowMs);
  if (state.count <= limit) return { ok: true, state };
  await undoHit(db, key);
  return { ok: false, state, retryAfterSeconds: retryAfterSeconds(clock, state) };
}
