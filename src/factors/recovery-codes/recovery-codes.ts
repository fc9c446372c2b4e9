/**
 * Recovery codes (PRODUCT.md §2.7, SECURITY.md rule 16): ten single-use codes of 50 random bits
 * each, written `xxxxx-xxxxx` in lower-case base32, shown once and stored only as an HMAC under
 * the server's hashing key — a database dump alone cannot be searched offline for them, and a
 * bare fast hash of a 50-bit value could be.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import { readingKeySets, type Keys, type KeySet } from '../../crypto/keys.ts';
import { hmacHex } from '../../crypto/tokens.ts';
import type { Database } from '../../storage/schema.ts';
import { lockUser } from '../../storage/user-lock.ts';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 10 base32 characters = 50 bits (PRODUCT.md §4: at least 50). */
const CODE_LENGTH = 10;

function generateRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i += 1) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/**
 * The canonical form a user's typing maps to: any case, with or without the hyphen and spaces.
 * Null when what remains cannot be a recovery code (the caller answers 400).
 */
export function normalizeRecoveryCode(input: string): string | null {
  const compact = input.replace(/[\s-]/g, '').toLowerCase();
  return /^[a-z2-7]{10}$/.test(compact) ? compact : null;
}

/** Bound to the user, so equal codes of two users never share a hash. */
function hashRecoveryCode(keys: KeySet, userId: string, normalized: string): string {
  return hmacHex(keys.hashing, `recovery-code:${userId}:${normalized}`);
}

/**
 * Replaces the user's whole set (rule 16: regeneration voids the old set); returns the new codes.
 * In the caller's transaction, locked on the user: concurrent regenerations would otherwise each
 * delete the set they saw and insert their own, leaving several sets that work.
 */
export async function replaceRecoveryCodes(db: Database, clock: Clock, keys: Keys, userId: string): Promise<string[]> {
  await lockUser(db, userId);
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
  const now = clock.now();
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('recovery_codes')
    .values(codes.map((code) => ({ id: randomUUID(), user_id: userId, code_hash: hashRecoveryCode(keys, userId, normalizeRecoveryCode(code)!), created_at: now, used_at: null })))
    .execute();
  return codes;
}

export type RecoveryCodeOutcome = { ok: true; remaining: number } | { ok: false };

/**
 * Spends one recovery code: one conditional update on (user, hash, unused), so of concurrent
 * submissions of one code exactly one succeeds (rule 6).
 */
export async function consumeRecoveryCode(db: Database, clock: Clock, keys: Keys, userId: string, normalized: string): Promise<RecoveryCodeOutcome> {
  const spent = await db
    .updateTable('recovery_codes')
    .set({ used_at: clock.now() })
    .where('user_id', '=', userId)
    // Codes issued before a key rotation stay valid while their key is a previous key.
    .where('code_hash', 'in', readingKeySets(keys).map((keySet) => hashRecoveryCode(keySet, userId, normalized)))
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!spent) return { ok: false };
  return { ok: true, remaining: await countUnusedRecoveryCodes(db, userId) };
}

export async function countUnusedRecoveryCodes(db: Database, userId: string): Promise<number> {
  const row = await db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}
