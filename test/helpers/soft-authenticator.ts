/**
 * A software security key for API tests: real P-256 keys (node:crypto), real CBOR attestation
 * objects ("none" attestation) and authenticator data, real ECDSA signatures — so the server's
 * WebAuthn library verifies them exactly as it would a hardware key's. No maintained npm package
 * does this without a browser, and nothing may be downloaded at run time, hence these lines.
 * Every field a test may want to get wrong (origin, RP ID, challenge, counter, type) can be
 * overridden per call.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

type CBOR = number | string | Uint8Array | CBOR[] | Map<CBOR, CBOR> | { [key: string]: CBOR };

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 256) return Buffer.from([(major << 5) | 24, length]);
  if (length < 65536) return Buffer.from([(major << 5) | 25, length >> 8, length & 255]);
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(length, 1);
  return out;
}

/** The subset of CBOR WebAuthn uses: integers, byte and text strings, arrays, maps. */
export function encodeCBOR(value: CBOR): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(encodeCBOR)]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([key, item]) => [encodeCBOR(key), encodeCBOR(item)])]);
}

const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

export interface Overrides {
  origin?: string;
  rpID?: string;
  challenge?: string;
  type?: string;
  /** The counter to report; by default the next one (or 0 for a key that does not count). */
  counter?: number;
  /** Sign with another key (a forged assertion). */
  signWith?: KeyObject;
}

export class SoftAuthenticator {
  readonly credentialId: Buffer = randomBytes(32);
  readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  counter: number;

  /** `counts`: false for a key that always reports 0 (like a synced passkey). */
  constructor(
    readonly origin: string,
    readonly options: { counts?: boolean; aaguid?: Buffer } = {},
  ) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
    this.counter = 0;
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  private coseKey(): Buffer {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return encodeCBOR(new Map<CBOR, CBOR>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]));
  }

  private nextCounter(override?: number): number {
    if (override !== undefined) return override;
    if (this.options.counts === false) return 0;
    this.counter += 1;
    return this.counter;
  }

  /** Answers creation options (from POST /me/2fa/webauthn/options) like navigator.credentials.create. */
  register(options: { challenge: string; rp: { id?: string } }, overrides: Overrides = {}): Record<string, unknown> {
    const rpID = overrides.rpID ?? options.rp.id!;
    const clientDataJSON = JSON.stringify({ type: overrides.type ?? 'webauthn.create', challenge: overrides.challenge ?? options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false });
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.nextCounter(overrides.counter === undefined ? 0 : overrides.counter));
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    // Flags: user present (0x01), user verified (0x04), attested credential data (0x40).
    const authData = Buffer.concat([sha256(rpID), Buffer.from([0x45]), counter, this.options.aaguid ?? Buffer.alloc(16), idLength, this.credentialId, this.coseKey()]);
    const attestationObject = encodeCBOR({ fmt: 'none', attStmt: {}, authData });
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ['usb'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  /** Answers request options (from POST /login/webauthn/options) like navigator.credentials.get. */
  assert(options: { challenge: string; rpId?: string }, overrides: Overrides = {}): Record<string, unknown> {
    const rpID = overrides.rpID ?? options.rpId!;
    const clientDataJSON = JSON.stringify({ type: overrides.type ?? 'webauthn.get', challenge: overrides.challenge ?? options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false });
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.nextCounter(overrides.counter));
    const authData = Buffer.concat([sha256(rpID), Buffer.from([0x05]), counter]);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), overrides.signWith ?? this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature) },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }
}
