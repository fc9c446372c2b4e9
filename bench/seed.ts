/**
 * Bulk seeding for the benchmark: users, TOTP factors and sessions written straight into the
 * database, because preparing them through the API would cost one argon2id hash each.
 *
 * - Users are generated inside the database (generate_series on PostgreSQL, a recursive CTE
 *   on SQLite): one statement writes a million rows. They all share one password hash,
 *   computed once with the server's own hasher, so any of them can log in.
 * - User 1 administers the "big" account; the other users fill accounts of `accountSize`.
 * - TOTP factors (for the second-step and full-login pools) are encrypted with the server's
 *   key through src/crypto, and sessions are stored as the server stores them: only the
 *   SHA-256 of a fresh token.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { encryptSecret } from '../src/crypto/encryption.ts';
import { deriveKeys } from '../src/crypto/keys.ts';
import { generateToken, hashToken } from '../src/crypto/tokens.ts';
import { totpFactorAssociatedData } from '../src/factors/totp/pending-enrollment.ts';
import { generateTOTPSecret } from '../src/factors/totp/totp.ts';
import { createPasswordHasher } from '../src/crypto/password-hasher.ts';
import { openStorage, type Storage } from '../src/storage/database.ts';
import { migrateToLatest } from '../src/storage/migrate.ts';
import type { Database, SessionState } from '../src/storage/schema.ts';

export const BENCH_PASSWORD = 'benchmark password';

export interface SeedPlan {
  /** Users in the database, all able to log in with BENCH_PASSWORD. */
  totalUsers: number;
  /** Users of account 1 (the Users-page account); its first user is an administrator. */
  bigAccountUsers: number;
  /** Users per other account (each account's first user is its administrator). */
  accountSize: number;
  /** Users with a TOTP factor and a half-authenticated (password_only) session each. */
  verifyPool: number;
  /** Users with a TOTP factor and no session: each does one full password + TOTP login. */
  fullLoginPool: number;
  /** Plain users (no factor) with a complete session each, for the session check. */
  completeSessions: number;
  /** Plain users (no factor) whose emails the password-login load rotates through. */
  loginEmails: number;
}

export interface TOTPUser {
  email: string;
  secret: Uint8Array;
}

export interface SeededData {
  /** Complete session of the big account's administrator (Users page). */
  adminToken: string;
  /** Complete sessions of plain users. */
  completeTokens: string[];
  /** One half-authenticated session per TOTP user: the token and the secret for its code. */
  halfSessions: Array<{ token: string; secret: Uint8Array }>;
  fullLoginUsers: TOTPUser[];
  loginEmails: string[];
}

export function userId(index: number): string {
  return `user-${String(index).padStart(8, '0')}`;
}

export function userEmail(index: number): string {
  return `${userId(index)}@bench.example`;
}

const BIG_ACCOUNT = 'acct-big';

/** Rows per multi-row INSERT: under both databases' bound-parameter limits. */
const CHUNK = 1000;

async function insertInChunks<T>(rows: T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < rows.length; start += CHUNK) await write(rows.slice(start, start + CHUNK));
}

/** The other accounts' numbers and users are computed in SQL from the user's index `i`. */
async function insertAccountsAndUsers(storage: Storage, plan: SeedPlan, passwordHash: string, now: number): Promise<void> {
  const { db, dialect } = storage;
  const others = Math.max(0, plan.totalUsers - plan.bigAccountUsers);
  const otherAccounts = Math.ceil(others / plan.accountSize);
  await db.insertInto('accounts').values({ id: BIG_ACCOUNT, name: 'Big account', enforce_2fa: 0, created_at: now }).execute();
  const big = plan.bigAccountUsers;
  const size = plan.accountSize;
  if (dialect === 'postgres') {
    await sql`insert into accounts (id, name, enforce_2fa, created_at)
      select 'acct-' || lpad(a::text, 8, '0'), 'Account ' || a, 0, ${now}::bigint from generate_series(0, ${otherAccounts - 1}::int) as a`.execute(db);
    await sql`insert into users (id, account_id, email, name, role, active, password_hash, created_at, last_login_at)
      select 'user-' || lpad(i::text, 8, '0'),
             case when i <= ${big}::int then ${BIG_ACCOUNT} else 'acct-' || lpad(((i - ${big}::int - 1) / ${size}::int)::text, 8, '0') end,
             'user-' || lpad(i::text, 8, '0') || '@bench.example', 'User ' || i,
             case when i = 1 or (i > ${big}::int and (i - ${big}::int - 1) % ${size}::int = 0) then 'admin' else 'user' end,
             1, ${passwordHash}, ${now}::bigint, null
      from generate_series(1, ${plan.totalUsers}::int) as i`.execute(db);
    await sql`analyze`.execute(db);
    return;
  }
  await sql`with recursive seq(a) as (select 0 union all select a + 1 from seq where a + 1 < ${otherAccounts})
    insert into accounts (id, name, enforce_2fa, created_at) select printf('acct-%08d', a), 'Account ' || a, 0, ${now} from seq where ${otherAccounts} > 0`.execute(db);
  await sql`with recursive seq(i) as (select 1 union all select i + 1 from seq where i < ${plan.totalUsers})
    insert into users (id, account_id, email, name, role, active, password_hash, created_at, last_login_at)
    select printf('user-%08d', i),
           case when i <= ${big} then ${BIG_ACCOUNT} else printf('acct-%08d', (i - ${big} - 1) / ${size}) end,
           printf('user-%08d@bench.example', i), 'User ' || i,
           case when i = 1 or (i > ${big} and (i - ${big} - 1) % ${size} = 0) then 'admin' else 'user' end,
           1, ${passwordHash}, ${now}, null
    from seq`.execute(db);
}

/** `count` distinct user indices from 2..total, spread at random, none in `taken`. */
function pickUsers(count: number, total: number, taken: Set<number>): number[] {
  if (count > total - 1 - taken.size) throw new Error(`Cannot pick ${count} more users among ${total}: make the database larger`);
  const picked: number[] = [];
  while (picked.length < count) {
    const index = 2 + Math.floor(Math.random() * (total - 1));
    if (taken.has(index)) continue;
    taken.add(index);
    picked.push(index);
  }
  return picked;
}

interface SessionRow {
  token_hash: string;
  user_id: string;
  state: SessionState;
  created_at: number;
  last_seen_at: number;
  authenticated_at: number;
  auth_methods: string;
  ip: string;
  user_agent: string;
}

function sessionFor(index: number, state: SessionState, now: number): { token: string; row: SessionRow } {
  const token = generateToken();
  return { token, row: { token_hash: hashToken(token), user_id: userId(index), state, created_at: now, last_seen_at: now, authenticated_at: now, auth_methods: state === 'complete' ? 'password,totp' : 'password', ip: '127.0.0.1', user_agent: 'twofold-bench' } };
}

async function insertTOTPFactors(db: Database, encryptionKey: Uint8Array, indices: number[], now: number): Promise<Uint8Array[]> {
  const secrets = indices.map(() => generateTOTPSecret());
  const rows = indices.map((index, k) => {
    const id = randomUUID();
    // Same associated data as src/factors/totp/pending-enrollment.ts binds a factor with; if
    // it drifts, every second step of the benchmark fails loudly (errors column).
    return { id, user_id: userId(index), kind: 'totp' as const, secret_encrypted: encryptSecret(encryptionKey, secrets[k]!, totpFactorAssociatedData(userId(index), id)), last_used_step: null, created_at: now, confirmed_at: now };
  });
  await insertInChunks(rows, (chunk) => db.insertInto('factors').values(chunk).execute());
  return secrets;
}

/** Migrates the (empty) database at `databaseURL` and fills it according to `plan`. */
export async function seedDatabase(databaseURL: string, encryptionKeyText: string, plan: SeedPlan): Promise<SeededData> {
  const config = loadConfig({ DATABASE_URL: databaseURL, ENCRYPTION_KEY: encryptionKeyText });
  const keys = deriveKeys(config.encryptionKey);
  const hashed = await createPasswordHasher(1, 1).hashPassword(BENCH_PASSWORD);
  if (!hashed.ok) throw new Error('The password hasher refused the seed hash');
  const storage = openStorage(databaseURL);
  try {
    await migrateToLatest(storage.db);
    const now = Date.now();
    await insertAccountsAndUsers(storage, plan, hashed.value, now);

    const taken = new Set<number>();
    const verifyUsers = pickUsers(plan.verifyPool, plan.totalUsers, taken);
    const fullLoginUsers = pickUsers(plan.fullLoginPool, plan.totalUsers, taken);
    const sessionUsers = pickUsers(plan.completeSessions, plan.totalUsers, taken);
    const loginUsers = pickUsers(plan.loginEmails, plan.totalUsers, taken);

    const verifySecrets = await insertTOTPFactors(storage.db, keys.encryption, verifyUsers, now);
    const fullLoginSecrets = await insertTOTPFactors(storage.db, keys.encryption, fullLoginUsers, now);

    const admin = sessionFor(1, 'complete', now);
    const complete = sessionUsers.map((index) => sessionFor(index, 'complete', now));
    const half = verifyUsers.map((index) => sessionFor(index, 'password_only', now));
    await insertInChunks([admin, ...complete, ...half].map((session) => session.row), (chunk) => storage.db.insertInto('sessions').values(chunk).execute());
    if (storage.dialect === 'postgres') await sql`analyze`.execute(storage.db);

    return {
      adminToken: admin.token,
      completeTokens: complete.map((session) => session.token),
      halfSessions: half.map((session, k) => ({ token: session.token, secret: verifySecrets[k]! })),
      fullLoginUsers: fullLoginUsers.map((index, k) => ({ email: userEmail(index), secret: fullLoginSecrets[k]! })),
      loginEmails: loginUsers.map(userEmail),
    };
  } finally {
    await storage.close();
  }
}
