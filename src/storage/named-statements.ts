/**
 * Named prepared statements on PostgreSQL. Kysely's PostgresDialect sends each query unnamed, so
 * PostgreSQL parses and plans it again every time; for a one-row indexed read that costs more than
 * running it (measured: 599 µs per serial query unnamed, 292 µs named). A named statement is parsed
 * once per connection and then only bound and executed. The backends share the machine with the
 * server: on a two-core machine a login's ~14 statements parsed and planned each time were CPU the
 * server itself lacked (issue #18, second step on PostgreSQL).
 *
 * Which texts are named:
 * - the hot reads registered with `nameStatement` (the session read, the Users page), at once;
 * - any other statement text a pool sends a second time, as long as fewer than
 *   `MAX_AUTOMATIC_NAMES` texts have been named so. A text seen once (a rare IN-list length, a
 *   search) stays unnamed, and the cap bounds what a connection holds: PostgreSQL keeps a named
 *   statement for the life of the connection.
 * - never a text with `*` in it: `select *` (or `returning *`) would fail on a connection that
 *   prepared it before a migration added a column ("cached plan must not change result type"),
 *   which is how migrations grow tables while older instances still run. Reads that name their
 *   columns are re-planned by PostgreSQL itself when a table changes.
 * - only select, insert, update, delete and with: not transaction control or anything else.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

/** The registered texts (`nameStatement`), named on every pool. */
const registered = new Map<string, string>();

/** At most this many texts are named automatically per pool (each of its connections prepares those it runs). */
export const MAX_AUTOMATIC_NAMES = 200;
/** Texts seen once, waiting for a second use; bounded too (cleared when full: they are only candidates). */
const MAX_CANDIDATES = 5_000;

const NAMEABLE = /^\s*(select|insert|update|delete|with)\b/i;

function hashName(label: string, sqlText: string): string {
  return `${label}_${createHash('sha256').update(sqlText).digest('hex').slice(0, 16)}`;
}

/**
 * Runs `sqlText` as a prepared statement on every PostgreSQL connection from now on, named
 * `<label>_<hash of the text>`: a read whose text changes (a column added) gets a name of its
 * own, so two texts never share one, whichever dialect they were compiled for.
 */
export function nameStatement(sqlText: string, label: string): void {
  if (!registered.has(sqlText)) registered.set(sqlText, hashName(label, sqlText));
}

/** One pool's naming: the registered texts, and the texts it names itself on their second use. */
function automaticNaming(): (sqlText: string) => string | undefined {
  const named = new Map<string, string>();
  const seenOnce = new Set<string>();
  return (sqlText) => {
    const known = registered.get(sqlText) ?? named.get(sqlText);
    if (known !== undefined || named.size >= MAX_AUTOMATIC_NAMES) return known;
    if (!seenOnce.has(sqlText)) {
      if (seenOnce.size >= MAX_CANDIDATES) seenOnce.clear();
      if (NAMEABLE.test(sqlText) && !sqlText.includes('*')) seenOnce.add(sqlText);
      return undefined;
    }
    seenOnce.delete(sqlText);
    const name = hashName('auto', sqlText);
    named.set(sqlText, name);
    return name;
  };
}

const wrapped = new WeakSet<pg.PoolClient>();

/**
 * Makes the client send the named texts under their names: its own `query` is wrapped once,
 * when the pool first hands it out (the pool keeps its clients, so this is once per connection).
 */
function nameStatementsOf(client: pg.PoolClient, nameFor: (sqlText: string) => string | undefined): pg.PoolClient {
  if (wrapped.has(client)) return client;
  wrapped.add(client);
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const [text, values] = args;
    const name = typeof text === 'string' ? nameFor(text) : undefined;
    return name === undefined ? query(...args) : query({ name, text, values });
  }) as pg.PoolClient['query'];
  return client;
}

/** What Kysely's PostgresDialect needs of a pool, with repeated statements named. */
export function namingPool(pool: pg.Pool): { connect(): Promise<pg.PoolClient>; end(): Promise<void> } {
  const nameFor = automaticNaming();
  return {
    connect: async () => nameStatementsOf(await pool.connect(), nameFor),
    end: () => pool.end(),
  };
}
