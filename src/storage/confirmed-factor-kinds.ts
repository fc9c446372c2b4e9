/**
 * The kinds of factor a user has confirmed, read in the same query as the user: a correlated
 * subquery over `factors_user_kind` that aggregates them into one comma-separated text
 * (`string_agg`, in SQLite since 3.44 and in PostgreSQL), so a read of users — the session read,
 * a page of the Users list — stays one round trip. It names no kind: callers order what comes
 * back by the registry (src/factors/registry.ts). It lives with the storage because the session
 * read and the user listing, below the factors in the folder layers, both use it.
 */
import { sql, type ExpressionBuilder } from 'kysely';

/** Select item `factor_kinds`: the user's confirmed kinds, comma-separated, in no order; null when none. */
export function confirmedFactorKinds(eb: ExpressionBuilder<any, 'users'>) {
  return eb.selectFrom('factors').select(sql<string | null>`string_agg(factors.kind, ',')`.as('kinds')).whereRef('factors.user_id', '=', 'users.id').as('factor_kinds');
}

/** The kinds in a `factor_kinds` value. */
export function factorKindsOf(factorKinds: string | null): string[] {
  return factorKinds === null ? [] : factorKinds.split(',');
}
