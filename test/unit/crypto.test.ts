import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decryptSecret, encryptSecret } from '../../src/crypto/encryption.ts';
import { generateToken, isWellFormedToken } from '../../src/crypto/tokens.ts';
import { deriveKeys } from '../../src/crypto/keys.ts';

const keys = deriveKeys(new Uint8Array(32).fill(9));

describe('crypto', () => {
  it('round-trips a secret through AES-256-GCM and never stores the plaintext', () => {
    const secret = new TextEncoder().encode('JBSWY3DPEHPK3PXP');
    const stored = encryptSecret(keys.encryption, secret, 'user-1');
    assert.ok(!stored.includes('JBSWY3DPEHPK3PXP'));
    assert.deepEqual(decryptSecret(keys.encryption, stored, 'user-1'), secret);
  });

  it('fails closed on a tampered ciphertext, a wrong key or another record', () => {
    const stored = encryptSecret(keys.encryption, new Uint8Array([1, 2, 3]), 'user-1');
    const [version, iv, body] = stored.split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0]! ^= 1;
    assert.throws(() => decryptSecret(keys.encryption, `${version}.${iv}.${flipped.toString('base64url')}`, 'user-1'));
    assert.throws(() => decryptSecret(keys.hashing, stored, 'user-1'));
    assert.throws(() => decryptSecret(keys.encryption, stored, 'user-2'), 'a secret copied to another user does not decrypt');
  });

  it('derives distinct keys for encryption and hashing', () => {
    assert.notDeepEqual(keys.encryption, keys.hashing);
  });

  it('generates 256-bit tokens that never repeat', () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateToken));
    assert.equal(tokens.size, 1000);
    for (const token of tokens) assert.ok(isWellFormedToken(token));
  });
});
