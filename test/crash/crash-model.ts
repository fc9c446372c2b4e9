/**
 * What the clients know, and the checks run after every restart.
 *
 * Each client (user) does one thing at a time, so when the server dies each has at most one
 * request whose answer was lost. Everything answered before the kill is known exactly; the
 * lost request either happened completely or not at all. The checks read the database
 * directly (a fresh connection opened after the restart) and decide which of the two it was —
 * anything else (a third state, a change without its security event, an event without its
 * change, an answered change that is gone) is a crash-safety bug.
 */
import { decryptSecret } from '../../src/crypto/encryption.ts';
import { deriveKeys } from '../../src/crypto/keys.ts';
import { hashToken } from '../../src/crypto/tokens.ts';
import { encodeBase32 } from '../../src/factors/totp/totp.ts';
import type { Database } from '../../src/storage/schema.ts';
import { TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import type { AuthenticatorApp } from './crash-harness.ts';

export interface KnownFactor {
  app: AuthenticatorApp;
  /** Null when the confirmation committed but its answer (the codes) was lost. */
  recoveryCodes: string[] | null;
  usedRecoveryCodes: number;
  /** Hash of the session that confirmed it: the one session confirming does not sign out. */
  confirmingSessionHash: string;
}

/** The one request per client whose answer may have been lost. */
export type InFlight =
  | { kind: 'login' }
  | { kind: 'start' }
  | { kind: 'confirm'; factor: KnownFactor; enrollmentId: string }
  | { kind: 'link_send' }
  | { kind: 'link_use'; token: string }
  | { kind: 'self_disable' };

export interface UserModel {
  label: string;
  id: string;
  email: string;
  factor: KnownFactor | null;
  /** A session token the client holds, or null when it must log in. */
  token: string | null;
  /** The token's session stopped at enrollment: confirming a factor swaps it for a new token. */
  tokenEnrollmentOnly: boolean;
  /** Id of an answered enrollment start that no answered confirmation or disable consumed. */
  pendingEnrollmentId: string | null;
  inFlight: InFlight | null;
  /** Disable links asked for (the server allows 3 per user per hour). */
  linkRequests: number;
  /** Disable links whose use was answered 204: each must stay consumed. */
  usedLinks: string[];
  /** Changes known to be committed, and so owed a security event each. */
  committed: { enrolled: number; linkSent: number; linkUsed: number; selfRemoved: number; logins: number };
  /** Lost requests that may have completed a login (login_succeeded may or may not exist). */
  loginsMaybe: number;
}

export interface EnforcementModel {
  known: boolean;
  inFlight: boolean | null;
  committedChanges: number;
}

export interface RoundFacts {
  /** In-flight requests found committed / not committed, by kind, for the round's summary line. */
  committed: string[];
  rolledBack: string[];
  unresolved: string[];
}

const keys = deriveKeys(new Uint8Array(Buffer.from(TEST_ENCRYPTION_KEY, 'base64')));

/** Same associated data as the server's factor rows (src/factors/totp/pending-enrollment.ts). */
function factorSecret(userId: string, factorId: string, stored: string): string {
  return encodeBase32(decryptSecret(keys.encryption, stored, `factor:totp:${userId}:${factorId}`));
}

function countBy<T extends string>(values: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/**
 * Whole-database invariant, for every user (not only the modeled ones): a confirmed factor
 * comes with its recovery codes, and recovery codes never outlive the factors.
 */
export async function checkNoHalfEnrolledUser(db: Database, problems: string[]): Promise<void> {
  const users = await db.selectFrom('users').select('id').execute();
  const factors = countBy((await db.selectFrom('factors').select('user_id').execute()).map((row) => row.user_id));
  const codes = countBy((await db.selectFrom('recovery_codes').select('user_id').execute()).map((row) => row.user_id));
  for (const { id } of users) {
    const factorCount = factors.get(id) ?? 0;
    const codeCount = codes.get(id) ?? 0;
    if (factorCount > 0 && codeCount !== 10) problems.push(`user ${id}: ${factorCount} factor(s) but ${codeCount} recovery codes (half-enrolled)`);
    if (factorCount === 0 && codeCount > 0) problems.push(`user ${id}: no factor but ${codeCount} recovery codes left behind`);
  }
}

/**
 * Decides each user's lost request from the database, checks it against what the client knew,
 * and updates the model to the state the database is in.
 */
export async function resolveUser(db: Database, user: UserModel, facts: RoundFacts, problems: string[]): Promise<void> {
  const say = (text: string) => problems.push(`${user.label}: ${text}`);
  const factorRows = await db.selectFrom('factors').select(['id', 'kind', 'secret_encrypted']).where('user_id', '=', user.id).execute();
  if (factorRows.length > 1 || factorRows.some((row) => row.kind !== 'totp')) say(`unexpected factor rows ${JSON.stringify(factorRows.map((row) => row.kind))}`);
  const row = factorRows[0];
  const storedSecret = row ? factorSecret(user.id, row.id, row.secret_encrypted) : null;

  const before = user.factor;
  const flight = user.inFlight;
  const after: KnownFactor | null | undefined =
    flight?.kind === 'confirm' ? flight.factor : flight?.kind === 'link_use' || flight?.kind === 'self_disable' ? null : undefined;
  const matches = (factor: KnownFactor | null) => (factor?.app.secret ?? null) === storedSecret;
  let committed = false;
  if (matches(before)) {
    committed = false;
  } else if (after !== undefined && matches(after)) {
    committed = true;
  } else {
    say(`factor in the database (${storedSecret === null ? 'none' : 'an unknown secret'}) is neither what was answered (${before ? 'a factor' : 'none'}) nor what the lost ${flight?.kind ?? 'nothing'} would make`);
  }
  if (after !== undefined) (committed ? facts.committed : facts.rolledBack).push(flight!.kind);
  // A lost login or enrollment start leaves nothing the clients rely on: counted, not resolved.
  if (flight?.kind === 'login' || flight?.kind === 'start') facts.unresolved.push(flight.kind);

  if (flight?.kind === 'confirm' && committed) {
    user.factor = flight.factor;
    user.committed.enrolled += 1;
    user.pendingEnrollmentId = null;
    // Its replacement token was in the lost answer.
    if (user.tokenEnrollmentOnly) user.token = null;
  }
  if ((flight?.kind === 'link_use' || flight?.kind === 'self_disable') && committed) {
    user.factor = null;
    user.pendingEnrollmentId = null;
    user.token = null;
    if (flight.kind === 'link_use') user.committed.linkUsed += 1;
    else user.committed.selfRemoved += 1;
  }
  if (flight?.kind === 'login' || flight?.kind === 'confirm') user.loginsMaybe += 1;

  // Disable links: consumed by their use exactly when the factor went away with it.
  if (flight?.kind === 'link_use') {
    const link = await db.selectFrom('links').select('consumed_at').where('token_hash', '=', hashToken(flight.token)).executeTakeFirst();
    if (!link) say('the lost disable link is not in the database');
    else if ((link.consumed_at !== null) !== committed) say(`the disable link is ${link.consumed_at !== null ? 'consumed' : 'unused'} but the factor was ${committed ? '' : 'not '}removed`);
  }
  for (const token of user.usedLinks) {
    const link = await db.selectFrom('links').select('consumed_at').where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!link || link.consumed_at === null) say('a disable link answered 204 is not consumed');
  }
  const links = await db.selectFrom('links').select('token_hash').where('user_id', '=', user.id).where('kind', '=', 'disable_2fa').execute();
  const linkSentLow = user.committed.linkSent;
  const linkSentHigh = linkSentLow + (flight?.kind === 'link_send' ? 1 : 0);
  if (links.length < linkSentLow || links.length > linkSentHigh) say(`${links.length} disable links stored, ${linkSentLow} answered 202${linkSentHigh > linkSentLow ? ' (+1 lost)' : ''}`);
  if (flight?.kind === 'link_send') (links.length > linkSentLow ? facts.committed : facts.rolledBack).push('link_send');
  user.committed.linkSent = links.length;

  // A pending enrollment answered 201 survives unless something consumed it.
  if (flight?.kind !== 'start' && user.pendingEnrollmentId !== null) {
    const pending = await db.selectFrom('totp_enrollments').select('id').where('user_id', '=', user.id).executeTakeFirst();
    if (pending?.id !== user.pendingEnrollmentId) say('an enrollment start answered 201 (and not confirmed) is gone');
  }
  if (flight?.kind === 'start') user.pendingEnrollmentId = null;

  // Recovery codes answered to the client are the ones stored.
  const codeRows = await db.selectFrom('recovery_codes').select(['used_at']).where('user_id', '=', user.id).execute();
  const expectedCodes = user.factor ? 10 : 0;
  if (codeRows.length !== expectedCodes) say(`${codeRows.length} recovery codes stored, expected ${expectedCodes}`);
  const usedCodes = codeRows.filter((code) => code.used_at !== null).length;
  if (user.factor && usedCodes !== user.factor.usedRecoveryCodes) say(`${usedCodes} recovery codes used in the database, ${user.factor.usedRecoveryCodes} used by the client`);

  user.inFlight = null;
  if (row) await checkOtherSessionsSignedOut(db, user, row.id, say);
  await checkUserEvents(db, user, storedSecret !== null, say);
}

/**
 * Confirming a factor signs out the user's other sessions (SECURITY.md rule 15) — also when the
 * answer was lost: no session older than the factor survives but the confirming one (or what it
 * became: a login completed by the enrollment gets a new token and a fresh authenticated_at).
 */
async function checkOtherSessionsSignedOut(db: Database, user: UserModel, factorId: string, say: (text: string) => void): Promise<void> {
  const factor = await db.selectFrom('factors').select('confirmed_at').where('id', '=', factorId).executeTakeFirstOrThrow();
  const confirmedAt = Number(factor.confirmed_at);
  const survivors = await db
    .selectFrom('sessions')
    .select('token_hash')
    .where('user_id', '=', user.id)
    .where('created_at', '<', confirmedAt)
    .where('authenticated_at', '<', confirmedAt)
    .where('token_hash', '!=', user.factor?.confirmingSessionHash ?? '')
    .execute();
  if (survivors.length > 0) say(`${survivors.length} session(s) from before the factor was confirmed were not signed out`);
}

/** Every committed change has its event and every event its change: counts and replay. */
async function checkUserEvents(db: Database, user: UserModel, hasFactor: boolean, say: (text: string) => void): Promise<void> {
  const events = await db.selectFrom('security_events').select(['type', 'at', 'detail']).where('subject_user_id', '=', user.id).orderBy('at').execute();
  const counts = countBy(events.map((event) => event.type));
  const expect = (type: string, count: number) => {
    if ((counts.get(type) ?? 0) !== count) say(`${counts.get(type) ?? 0} ${type} events, ${count} such changes committed`);
  };
  expect('factor_enrolled', user.committed.enrolled);
  expect('disable_link_sent', user.committed.linkSent);
  expect('disable_link_used', user.committed.linkUsed);
  expect('factor_removed', user.committed.selfRemoved);
  const logins = counts.get('login_succeeded') ?? 0;
  if (logins < user.committed.logins || logins > user.committed.logins + user.loginsMaybe) {
    say(`${logins} login_succeeded events, ${user.committed.logins} logins answered and ${user.loginsMaybe} lost`);
  }
  for (const type of ['login_failed', 'second_factor_failed', 'second_factor_locked']) {
    if (counts.has(type)) say(`${counts.get(type)} ${type} events: the workload never sends a wrong password or code`);
  }
  // Replaying the log gives the state in the database.
  let replayed = false;
  for (const event of events) {
    if (event.type === 'factor_enrolled') replayed = true;
    if (event.type === 'disable_link_used' || event.type === 'factor_removed') replayed = false;
  }
  if (replayed !== hasFactor) say(`the security log says 2FA is ${replayed ? 'on' : 'off'}, the database says ${hasFactor ? 'on' : 'off'}`);
}

/** The account flag is the last answered value or the lost one, and the log agrees with it. */
export async function resolveEnforcement(db: Database, accountId: string, model: EnforcementModel, facts: RoundFacts, problems: string[]): Promise<boolean> {
  const account = await db.selectFrom('accounts').select('enforce_2fa').where('id', '=', accountId).executeTakeFirstOrThrow();
  const stored = account.enforce_2fa === 1;
  if (stored !== model.known && stored !== model.inFlight) problems.push(`enforcement is ${stored}: neither the answered ${model.known} nor a lost change`);
  if (model.inFlight !== null) {
    const committed = stored === model.inFlight && stored !== model.known;
    (committed ? facts.committed : facts.rolledBack).push('enforcement');
    if (committed) model.committedChanges += 1;
  }
  model.known = stored;
  model.inFlight = null;
  const events = await db.selectFrom('security_events').select(['detail', 'at']).where('account_id', '=', accountId).where('type', '=', 'enforcement_changed').orderBy('at').execute();
  if (events.length !== model.committedChanges) problems.push(`${events.length} enforcement_changed events, ${model.committedChanges} changes committed`);
  let previous = false;
  for (const event of events) {
    const value = (JSON.parse(event.detail) as { enforce2fa: boolean }).enforce2fa;
    if (value === previous) problems.push('two enforcement_changed events in a row record the same value: one has no change behind it');
    previous = value;
  }
  if (previous !== stored) problems.push(`the last enforcement_changed event says ${previous}, the account says ${stored}`);
  return stored;
}
