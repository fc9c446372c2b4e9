/**
 * AES-256-GCM envelope for secrets at rest (SECURITY.md rule 29). The stored form is
 * "v1.<iv>.<ciphertext+tag>" in base64url; a tampered value fails authentication and
 * decryptSecret throws: a corrupted secret must never decrypt to something usable.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readingKeySets, type Keys } from './keys.ts';

const VERSION = 'v1';

export function encryptSecret(key: Uint8Array, plaintext: Uint8Array, associatedData: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

export function decryptSecret(key: Uint8Array, stored: string, associatedData: string): Uint8Array {
  const [version, ivText, bodyText] = stored.split('.');
  if (version !== VERSION || !ivText || !bodyText) throw new Error('Encrypted value has an unknown format');
  const body = Buffer.from(bodyText, 'base64url');
  if (body.length < 16) throw new Error('Encrypted value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return new Uint8Array(Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]));
}

/**
 * Decrypts under the current key or, after a rotation, a replaced one (GCM authentication tells
 * which). Throws when none of them authenticates the value.
 */
export function openSecret(keys: Keys, stored: string, associatedData: string): Uint8Array {
  const keySets = readingKeySets(keys);
  for (const [index, keySet] of keySets.entries()) {
    try {
      return decryptSecret(keySet.encryption, stored, associatedData);
    } catch (error) {
      if (index === keySets.length - 1) throw error;
    }
  }
  throw new Error('unreachable: there is always a current key');
}
