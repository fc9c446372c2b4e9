/**
 * "A refused request changes nothing" (SECURITY.md rule 34), made checkable: a snapshot of the
 * tables that hold accounts, people, factors, sessions and links, taken before a request and
 * compared after it when the answer was a 4xx.
 *
 * What a refusal may legitimately change, and so is left out or checked differently:
 * - rate_limit_counters: counting failures is what a refusal is for (password and code budgets,
 *   sign-up and SMS caps). Instead, the per-user wrong-code counters may grow by one at most:
 *   one guess per request (rule 34).
 * - login_challenges.attempts / failed_attempts / consumed_at and sms_codes.attempts: a wrong
 *   code is still a guess (rule 33); the summed attempts may grow by one at most. A challenge
 *   that runs out of tries is consumed and its password-only session revoked (rule 9), so the
 *   one session that may disappear is the half-authenticated one the request itself used.
 *   That session's challenge row is created on its first use (login-challenge.ts), refused or
 *   not, with the expiry it had from the password step: it may appear, for that session only.
 * - sessions.last_seen_at: touched by any authenticated request, refused or not.
 * - security_events: new rows of the failure types only (failed logins and codes, locks,
 *   refused texts); no existing row may change.
 * Everything else must be identical, row for row.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../../src/storage/schema.ts';

/** Tables compared whole (primary key → row hash). */
const WHOLE_TABLES: Record<string, string> = {
  accounts: 'id',
  users: 'id',
  factors: 'id',
  totp_enrollments: 'id',
  recovery_codes: 'id',
  links: 'token_hash',
  sms_enrollments: 'id',
};

/** Tables compared without the columns a counted guess or a touch may change. */
const PARTIAL_TABLES: Record<string, { key: string; ignored: string[] }> = {
  sessions: { key: 'token_hash', ignored: ['last_seen_at'] },
  login_challenges: { key: 'session_token_hash', ignored: ['attempts', 'failed_attempts', 'consumed_at'] },
  sms_codes: { key: 'id', ignored: ['attempts'] },
};

export const FAILURE_EVENT_TYPES = new Set(['login_failed', 'second_factor_failed', 'second_factor_locked', 'sms_refused']);

export interface Snapshot {
  rows: Record<string, Map<string, string>>;
  guesses: number;
  codeBudgetHits: number;
  events: Map<string, string>;
}

function rowHash(row: Record<string, unknown>, ignored: string[] = []): string {
  const kept = Object.keys(row)
    .filter((column) => !ignored.includes(column))
    .sort()
    .map((column) => [column, row[column] === null || row[column] === undefined ? null : String(row[column])]);
  return createHash('sha256').update(JSON.stringify(kept)).digest('hex');
}

async function tableRows(db: Database, table: string): Promise<Array<Record<string, unknown>>> {
  const result = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
  return result.rows;
}

export async function takeSnapshot(db: Database): Promise<Snapshot> {
  const rows: Snapshot['rows'] = {};
  for (const [table, key] of Object.entries(WHOLE_TABLES)) rows[table] = new Map((await tableRows(db, table)).map((row) => [String(row[key]), rowHash(row)]));
  for (const [table, { key, ignored }] of Object.entries(PARTIAL_TABLES)) rows[table] = new Map((await tableRows(db, table)).map((row) => [String(row[key]), rowHash(row, ignored)]));
  const guesses = await sql<{ n: number | string | null }>`select (select coalesce(sum(attempts), 0) from login_challenges) + (select coalesce(sum(attempts), 0) from sms_codes) as n`.execute(db);
  const budget = await sql<{ n: number | string | null }>`select coalesce(sum(count), 0) as n from rate_limit_counters where key like '2fa-user:%'`.execute(db);
  const events = new Map((await tableRows(db, 'security_events')).map((row) => [String(row.id), `${String(row.type)}:${rowHash(row)}`]));
  return { rows, guesses: Number(guesses.rows[0]?.n ?? 0), codeBudgetHits: Number(budget.rows[0]?.n ?? 0), events };
}

export interface Allowance {
  /** Hash of the half-authenticated token the request carried: its session may end, its challenge row appear. */
  revocableSessionHash: string | null;
}

/** What changed between two snapshots that a refused request must not change. */
export function unexpectedChanges(before: Snapshot, after: Snapshot, allowance: Allowance): string[] {
  const problems: string[] = [];
  for (const [table, beforeRows] of Object.entries(before.rows)) {
    const afterRows = after.rows[table]!;
    for (const [key, hash] of beforeRows) {
      const now = afterRows.get(key);
      if (now === hash) continue;
      if (now === undefined && table === 'sessions' && key === allowance.revocableSessionHash) continue;
      problems.push(`${table} row ${key.slice(0, 12)}… was ${now === undefined ? 'deleted' : 'changed'}`);
    }
    for (const key of afterRows.keys()) {
      if (beforeRows.has(key)) continue;
      if (table === 'login_challenges' && key === allowance.revocableSessionHash) continue;
      problems.push(`${table} gained a row ${key.slice(0, 12)}…`);
    }
  }
  if (after.guesses - before.guesses > 1) problems.push(`${after.guesses - before.guesses} code attempts were counted for one request (at most one guess per request)`);
  if (after.codeBudgetHits - before.codeBudgetHits > 1) problems.push(`the wrong-code budget was charged ${after.codeBudgetHits - before.codeBudgetHits} times for one request`);
  for (const [id, entry] of before.events) if (after.events.get(id) !== entry) problems.push(`security event ${id} was changed or deleted`);
  for (const [id, entry] of after.events) {
    if (before.events.has(id)) continue;
    const type = entry.slice(0, entry.indexOf(':'));
    if (!FAILURE_EVENT_TYPES.has(type)) problems.push(`a "${type}" security event was recorded for a refused request`);
  }
  return problems;
}
