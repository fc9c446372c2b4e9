/**
 * One configured key, separate subkeys per purpose (HKDF-SHA256, RFC 5869), so that the key
 * that encrypts secrets is never also the key of a lookup hash.
 */
import { hkdfSync } from 'node:crypto';

export interface Keys {
  /** AES-256-GCM key for TOTP secrets and phone numbers. */
  encryption: Uint8Array;
  /** HMAC key for lookup hashes (rate-limit keys, phone numbers, recovery codes). */
  hashing: Uint8Array;
}

function derive(master: Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', master, new Uint8Array(0), `twofold ${purpose}`, 32));
}

export function deriveKeys(master: Uint8Array): Keys {
  return { encryption: derive(master, 'encryption v1'), hashing: derive(master, 'hashing v1') };
}
