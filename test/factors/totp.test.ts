/**
 * The TOTP generator against every published vector (RFC 4226 Appendix D, RFC 6238 Appendix B,
 * also checked by Debian's oathtool), and the shapes apps rely on: 160-bit secrets, base32
 * without padding, the Key URI format, the ±1 step window.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { buildOtpauthURI, encodeBase32, findTOTPStep, generateHOTP, generateTOTP, generateTOTPSecret, type TOTPAlgorithm } from '../../src/factors/totp/totp.ts';
import { oathtoolCode } from '../helpers/two-factor.ts';

// shared/ sits beside the repository (here and in CI's clone).
const besideRepository = fileURLToPath(new URL('../../../shared/vectors', import.meta.url));
const vectorsDir = existsSync(besideRepository) ? besideRepository : '/work/shared/vectors';

interface RFC4226 { digits: number; secretHex: string; vectors: Array<{ counter: number; otp: string }> }
interface RFC6238 { digits: number; period: number; seeds: Record<TOTPAlgorithm, { hex: string }>; vectors: Array<{ time: number; step: number; algorithm: TOTPAlgorithm; otp: string }> }

const rfc4226 = JSON.parse(readFileSync(`${vectorsDir}/rfc4226.json`, 'utf8')) as RFC4226;
const rfc6238 = JSON.parse(readFileSync(`${vectorsDir}/rfc6238.json`, 'utf8')) as RFC6238;
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

describe('HOTP matches RFC 4226 Appendix D', () => {
  for (const vector of rfc4226.vectors) {
    it(`counter ${vector.counter} gives ${vector.otp}`, () => {
      assert.equal(generateHOTP(bytes(rfc4226.secretHex), vector.counter, { algorithm: 'SHA1', digits: rfc4226.digits }), vector.otp);
    });
  }
});

describe('TOTP matches RFC 6238 Appendix B (8 digits, SHA-1, SHA-256, SHA-512)', () => {
  for (const vector of rfc6238.vectors) {
    it(`${vector.algorithm} at T=${vector.time}s gives ${vector.otp}`, () => {
      const secret = bytes(rfc6238.seeds[vector.algorithm].hex);
      const parameters = { algorithm: vector.algorithm, digits: rfc6238.digits, periodSeconds: rfc6238.period };
      assert.equal(generateTOTP(secret, vector.time * 1000, parameters), vector.otp);
      // The step the verifier reports is the RFC's T.
      assert.equal(findTOTPStep(secret, vector.otp, vector.time * 1000, parameters), vector.step);
    });
  }
});

describe('authenticator-app TOTP', () => {
  it('makes 160-bit secrets that differ every time', () => {
    const secrets = Array.from({ length: 50 }, () => generateTOTPSecret());
    for (const secret of secrets) assert.equal(secret.length, 20);
    assert.equal(new Set(secrets.map((s) => Buffer.from(s).toString('hex'))).size, 50);
  });

  it('encodes secrets as RFC 4648 base32 without padding, as oathtool reads them', () => {
    assert.equal(encodeBase32(new TextEncoder().encode('12345678901234567890')), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    assert.equal(encodeBase32(new TextEncoder().encode('f')), 'MY');
    assert.equal(encodeBase32(new TextEncoder().encode('foobar')), 'MZXW6YTBOI');
    const secret = generateTOTPSecret();
    const base32 = encodeBase32(secret);
    assert.match(base32, /^[A-Z2-7]{32}$/);
    const hex = execFileSync('/usr/bin/oathtool', ['--totp', '-b', base32, '-v', '--now', '@0'], { encoding: 'utf8' });
    assert.match(hex, new RegExp(`Hex secret: ${Buffer.from(secret).toString('hex')}`));
  });

  it('agrees with oathtool on codes for random secrets at random times', () => {
    for (let i = 0; i < 20; i += 1) {
      const secret = generateTOTPSecret();
      const at = Math.floor(Math.random() * 4_000_000_000) * 1000;
      assert.equal(generateTOTP(secret, at), oathtoolCode(encodeBase32(secret), at));
    }
  });

  it('accepts the previous, current and next step and nothing further (RFC 6238 §5.2 drift window)', () => {
    const secret = generateTOTPSecret();
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    for (const delta of [-1, 0, 1]) assert.equal(findTOTPStep(secret, generateHOTP(secret, step + delta, { algorithm: 'SHA1', digits: 6 }), now), step + delta);
    for (const delta of [-3, -2, 2, 3]) {
      const code = generateHOTP(secret, step + delta, { algorithm: 'SHA1', digits: 6 });
      const inWindow = [-1, 0, 1].some((d) => generateHOTP(secret, step + d, { algorithm: 'SHA1', digits: 6 }) === code);
      if (!inWindow) assert.equal(findTOTPStep(secret, code, now), null);
    }
  });

  it('writes the Key URI with the issuer in label and parameter and every parameter spelled out', () => {
    assert.equal(
      buildOtpauthURI({ issuer: 'Twofold', accountName: 'ada@example.com', secretBase32: 'JBSWY3DPEHPK3PXP' }),
      'otpauth://totp/Twofold:ada@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Twofold&algorithm=SHA1&digits=6&period=30',
    );
    assert.equal(
      buildOtpauthURI({ issuer: 'Acme Co', accountName: 'a+b@example.com', secretBase32: 'JBSWY3DPEHPK3PXP' }),
      'otpauth://totp/Acme%20Co:a%2Bb@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30',
    );
  });
});
