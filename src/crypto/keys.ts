/**
 * One configured key, separate subkeys per purpose (HKDF-SHA256, RFC 5869), so that the key
 * that encrypts secrets is never also the key of a lookup hash.
 *
 * Rotation: ENCRYPTION_KEY is the key everything new is written under; keys it replaced
 * (PREVIOUS_ENCRYPTION_KEYS) are kept only to read what was stored under them — secrets until
 * `twofold rotate-key` re-encrypts them, recovery codes (an HMAC that cannot be recomputed
 * without the code) until their users regenerate them.
 */
import { hkdfSync } from 'node:crypto';

export interface KeySet {
  /** AES-256-GCM key for TOTP secrets and phone numbers. */
  encryption: Uint8Array;
  /** HMAC key for lookup hashes (rate-limit keys, phone numbers, recovery codes). */
  hashing: Uint8Array;
}

export interface Keys extends KeySet {
  /** Subkeys of the replaced keys, newest first; read-only use. */
  previous: KeySet[];
}

function derive(master: Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', master, new Uint8Array(0), `twofold ${purpose}`, 32));
}

function deriveKeySet(master: Uint8Array): KeySet {
  return { encryption: derive(master, 'encryption v1'), hashing: derive(master, 'hashing v1') };
}

export function deriveKeys(master: Uint8Array, previousMasters: readonly Uint8Array[] = []): Keys {
  return { ...deriveKeySet(master), previous: previousMasters.map(deriveKeySet) };
}

/** The current key set first, then the replaced ones: the order to try when reading. */
export function readingKeySets(keys: Keys): KeySet[] {
  return [keys, ...keys.previous];
}
