/**
 * The start-time key check (issue 13): a wrong ENCRYPTION_KEY used to be found only when a user's
 * code step answered 500. At first start a known text is stored encrypted under the key; every
 * start after that must open it with ENCRYPTION_KEY or one of PREVIOUS_ENCRYPTION_KEYS (a
 * rotation in progress), or the server refuses to start.
 */
import { decryptSecret, encryptSecret } from '../crypto/encryption.ts';
import type { Keys } from '../crypto/keys.ts';
import type { Database } from './schema.ts';

const NAME = 'encryption';
const ASSOCIATED_DATA = 'twofold key check';
const KNOWN_TEXT = 'Twofold key check v1';

export type KeyCheckOutcome = 'written' | 'current' | 'previous' | 'wrong_key';

function sealKnownText(keys: Keys): string {
  return encryptSecret(keys.encryption, new TextEncoder().encode(KNOWN_TEXT), ASSOCIATED_DATA);
}

function opensWith(key: Uint8Array, stored: string): boolean {
  try {
    return new TextDecoder().decode(decryptSecret(key, stored, ASSOCIATED_DATA)) === KNOWN_TEXT;
  } catch {
    return false;
  }
}

/**
 * 'written' at first start (a database from before this check trusts the key it is started
 * with); 'current' or 'previous' for the key that opens the check; 'wrong_key' when none does.
 */
export async function checkEncryptionKeys(db: Database, keys: Keys, now: number): Promise<KeyCheckOutcome> {
  // Instances starting together: one insert wins, the others check what it wrote.
  const inserted = await db.insertInto('key_checks').values({ name: NAME, value_encrypted: sealKnownText(keys), written_at: now }).onConflict((oc) => oc.column('name').doNothing()).returning('name').executeTakeFirst();
  if (inserted) return 'written';
  const row = await db.selectFrom('key_checks').select('value_encrypted').where('name', '=', NAME).executeTakeFirstOrThrow();
  if (opensWith(keys.encryption, row.value_encrypted)) return 'current';
  return keys.previous.some((previous) => opensWith(previous.encryption, row.value_encrypted)) ? 'previous' : 'wrong_key';
}

/** After `twofold rotate-key`: the check is written again under the current key. */
export async function rewriteKeyCheck(db: Database, keys: Keys, now: number): Promise<void> {
  const value = sealKnownText(keys);
  await db.insertInto('key_checks').values({ name: NAME, value_encrypted: value, written_at: now }).onConflict((oc) => oc.column('name').doUpdateSet({ value_encrypted: value, written_at: now })).execute();
}
