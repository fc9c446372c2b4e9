/**
 * Sessions (SECURITY.md rules 8, 9, 25). The token is 256 random bits, shown once; the database
 * keeps only its SHA-256. Each session records how far it has authenticated. Validation is one
 * indexed read that also carries what the guards need (user, role, account's enforcement flag),
 * and writes only to refresh last_seen_at at most once a minute. Nothing is cached in memory,
 * so a revocation takes effect on the very next request on every instance.
 */
import { allowedMethodsOf } from '../enforcement/method-policy.ts';
import { enforcementPhase } from '../enforcement/staged-enforcement.ts';
import { randomUUID } from 'node:crypto';
import { PostgresAdapter, sql } from 'kysely';
import type { Clock } from '../clock.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import { confirmedFactorKinds, factorKindsOf } from '../storage/confirmed-factor-kinds.ts';
import { coalescedRead } from '../storage/coalesced-read.ts';
import { nameStatement } from '../storage/named-statements.ts';
import type { Database, Role, SessionState } from '../storage/schema.ts';
import { endApplicationSessions, type LogoutQueue } from './application-sessions.ts';
import { recordRevocations, type RevocationReason } from './revocation.ts';

export interface SessionTimeouts {
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  sessionTouchIntervalMs: number;
}

export interface NewSessionInput {
  userId: string;
  state: SessionState;
  /** How the user authenticated so far (`amr`): 'password' at the password step. */
  authMethods: readonly string[];
  ip: string;
  userAgent: string;
}

export interface IssuedSession {
  token: string;
  tokenHash: string;
  createdAt: number;
}

export async function createSession(db: Database, clock: Clock, input: NewSessionInput): Promise<IssuedSession> {
  const token = generateToken();
  const tokenHash = hashToken(token);
  const now = clock.now();
  await db
    .insertInto('sessions')
    .values({
      token_hash: tokenHash,
      user_id: input.userId,
      state: input.state,
      created_at: now,
      last_seen_at: now,
      authenticated_at: now,
      auth_methods: input.authMethods.join(','),
      ip: input.ip,
      user_agent: input.userAgent.slice(0, 512),
      // The sessions list names a session by this, never by its token or hash (session-list.ts).
      public_id: randomUUID(),
    })
    .execute();
  return { token, tokenHash, createdAt: now };
}

/** What a request knows once its token checks out. */
export interface SessionContext {
  tokenHash: string;
  /**
   * The level the guard applies. A complete session of a user without a factor in an account
   * that enforces 2FA counts as 'enrollment_required' (PRODUCT.md §2.4: enforcement reaches
   * every session on its next request) — derived on each read, so turning enforcement on
   * writes nothing per user or per session.
   */
  state: SessionState;
  /** The level as stored; conditional upgrades compare against this one. */
  storedState: SessionState;
  hasSecondFactor: boolean;
  /** The confirmed second-factor methods the account's policy allows, in the registry's order (the caller passes it). */
  methods: string[];
  /** The methods the account's policy allows (all of them without a policy); a login may use only these. */
  allowedMethods: string[];
  /**
   * How this session authenticated, in order (`amr`): 'password', then the second factor's kind
   * ('totp', 'sms', 'recovery') once the login completed with one. OpenID Connect's amr/acr and
   * trusted browsers read it.
   */
  authMethods: string[];
  createdAt: number;
  /** When the session last authenticated: its password step, second factor or a re-entry. */
  authenticatedAt: number;
  userId: string;
  email: string;
  name: string;
  role: Role;
  lastLoginAt: number | null;
  /** Has the user proved their e-mail address? (the banner, GET /me, OpenID Connect's email_verified) */
  emailVerified: boolean;
  accountId: string;
  accountName: string;
  accountEnforces2FA: boolean;
  /**
   * Staged enforcement (PRODUCT.md §2.10): while the account's "Enforce from" date is ahead and the
   * enforcement applies to this user who has no 2FA, that date's 00:00 UTC (ms) — the banner and
   * GET /me say setup is due. Null otherwise.
   */
  twoFactorRequiredFrom: number | null;
}

/**
 * The session read runs on every request, so it is compiled once per database: building and
 * compiling the query with Kysely cost more than SQLite running it. Its one parameter is the
 * token hash (on PostgreSQL a list of them, below). It names no factor kind: the kinds the user
 * has confirmed come back as one list (`string_agg`, in SQLite since 3.44 and in PostgreSQL), and
 * the caller orders them by the registry.
 */
function selectSessions(db: Database) {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .innerJoin('accounts', 'accounts.id', 'users.account_id')
    // The allowed-methods policy, if the account has one (none: every method allowed).
    .leftJoin('account_policies', 'account_policies.account_id', 'accounts.id')
    .select([
      'sessions.token_hash',
      'sessions.state',
      'sessions.created_at',
      'sessions.last_seen_at',
      'sessions.authenticated_at',
      'sessions.auth_methods',
      'users.id as user_id',
      'users.email',
      'users.name',
      'users.role',
      'users.active',
      'users.last_login_at',
      'users.email_verified_at',
      'accounts.id as account_id',
      'accounts.name as account_name',
      'accounts.enforce_2fa',
      'account_policies.allowed_methods',
      'account_policies.require_phishing_resistant',
      // Staged enforcement: from when and for whom the switch applies (null row: at once, everyone).
      'account_policies.enforce_from',
      'account_policies.enforce_for',
      // Same round trip: which factors has the user confirmed? (index factors_user_kind)
      confirmedFactorKinds,
    ]);
}

type SessionRow = Awaited<ReturnType<ReturnType<typeof selectSessions>['executeTakeFirstOrThrow']>>;

const sessionReaders = new WeakMap<Database, (tokenHash: string) => Promise<SessionRow | undefined>>();

function sessionReader(db: Database): (tokenHash: string) => Promise<SessionRow | undefined> {
  let reader = sessionReaders.get(db);
  if (reader) return reader;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // PostgreSQL: the session checks that arrive together are read by one query
    // (storage/coalesced-read.ts), a named prepared statement parsed and planned once per
    // connection (storage/named-statements.ts). Each check still reads the database.
    const compiled = selectSessions(db).where(sql<boolean>`sessions.token_hash = any(${['']})`).compile();
    if (compiled.parameters.length !== 1) throw new Error('the session read must take exactly one parameter');
    // Columns added to this read change its text and so its statement's name.
    nameStatement(compiled.sql, 'session_reads');
    reader = coalescedRead(async (tokenHashes) => (await db.executeQuery<SessionRow>({ ...compiled, parameters: [tokenHashes] })).rows, (row) => row.token_hash);
  } else {
    // SQLite reads in-process from its own read connection: one statement per check.
    const compiled = selectSessions(db).where('sessions.token_hash', '=', '').compile();
    if (compiled.parameters.length !== 1) throw new Error('the session read must take exactly one parameter');
    reader = async (tokenHash) => (await db.executeQuery<SessionRow>({ ...compiled, parameters: [tokenHash] })).rows[0];
  }
  sessionReaders.set(db, reader);
  return reader;
}

/** `methodOrder`: the factor registry's methods, in the order answers list them. */
export async function validateSessionToken(db: Database, clock: Clock, timeouts: SessionTimeouts, token: string, methodOrder: readonly string[]): Promise<SessionContext | null> {
  const tokenHash = hashToken(token);
  const row = await sessionReader(db)(tokenHash);
  if (!row) return null;
  const now = clock.now();
  const expired = now - Number(row.last_seen_at) >= timeouts.sessionIdleMs || now - Number(row.created_at) >= timeouts.sessionAbsoluteMs;
  if (expired || row.active !== 1) {
    await revokeSession(db, tokenHash);
    return null;
  }
  if (now - Number(row.last_seen_at) >= timeouts.sessionTouchIntervalMs) {
    await db.updateTable('sessions').set({ last_seen_at: now }).where('token_hash', '=', tokenHash).execute();
  }
  const confirmed = new Set(factorKindsOf(row.factor_kinds));
  // Only the methods the account's policy allows count (PRODUCT.md §2.9): a user whose every
  // method is disallowed is a user without 2FA, sent to setup, on this very request.
  const allowedMethods = allowedMethodsOf(row);
  const methods = methodOrder.filter((kind) => confirmed.has(kind) && allowedMethods.includes(kind));
  const hasSecondFactor = methods.length > 0;
  const everyMethodDisallowed = !hasSecondFactor && methodOrder.some((kind) => confirmed.has(kind));
  const accountEnforces2FA = row.enforce_2fa === 1;
  // Derived from the row's values and the clock: when the date comes, held sessions follow at once.
  const phase = enforcementPhase(row, row.role, now);
  return {
    tokenHash,
    state: row.state === 'complete' && (phase === 'enforced' || everyMethodDisallowed) && !hasSecondFactor ? 'enrollment_required' : row.state,
    allowedMethods,
    storedState: row.state,
    hasSecondFactor,
    methods,
    authMethods: row.auth_methods.split(','),
    createdAt: Number(row.created_at),
    authenticatedAt: Number(row.authenticated_at),
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    lastLoginAt: row.last_login_at === null ? null : Number(row.last_login_at),
    emailVerified: row.email_verified_at !== null,
    accountId: row.account_id,
    accountName: row.account_name,
    accountEnforces2FA,
    twoFactorRequiredFrom: phase === 'grace' && !hasSecondFactor ? Number(row.enforce_from) : null,
  };
}

/**
 * Moves a session to a new authentication level under a new token (rule 9). The swap is one
 * conditional update on the old hash and expected state: two concurrent upgrades of the same
 * session cannot both succeed, and the old token stops working at once.
 */
export async function upgradeSession(db: Database, clock: Clock, tokenHash: string, change: { from: SessionState; to: SessionState; authMethods: readonly string[] }): Promise<IssuedSession | null> {
  const token = generateToken();
  const newHash = hashToken(token);
  const now = clock.now();
  const updated = await db
    .updateTable('sessions')
    .set({ token_hash: newHash, state: change.to, auth_methods: change.authMethods.join(','), authenticated_at: now, last_seen_at: now })
    .where('token_hash', '=', tokenHash)
    .where('state', '=', change.from)
    .returning('token_hash')
    .executeTakeFirst();
  return updated ? { token, tokenHash: newHash, createdAt: now } : null;
}

/** A password (or code) re-entry: the session counts as recently authenticated again. */
export async function markReauthenticated(db: Database, clock: Clock, tokenHash: string): Promise<void> {
  await db.updateTable('sessions').set({ authenticated_at: clock.now() }).where('token_hash', '=', tokenHash).execute();
}

export async function revokeSession(db: Database, tokenHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
}

/**
 * Ends every session of a user, except optionally the one making the request — and every
 * sign-in of theirs to an application (rule 41; application-sessions.ts), which is told by
 * back-channel logout. The reason is kept for the browsers signed out (revocation.ts).
 */
export async function revokeUserSessions(db: Database, queue: LogoutQueue, userId: string, keepTokenHash?: string, reason: RevocationReason = 'revoked'): Promise<void> {
  await recordRevocations(db, userId, reason, keepTokenHash);
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepTokenHash) query = query.where('token_hash', '!=', keepTokenHash);
  await query.execute();
  await endApplicationSessions(db, queue, userId);
}

export function isRecentlyAuthenticated(clock: Clock, session: SessionContext, windowMs: number): boolean {
  return clock.now() - session.authenticatedAt < windowMs;
}
