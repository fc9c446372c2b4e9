/**
 * Registering a security key (PRODUCT.md §2.9 step 1, §3 POST /me/2fa/webauthn/options and
 * POST /me/2fa/webauthn): creation options with a server-side challenge, then the browser's
 * answer verified by @simplewebauthn/server against that challenge, PUBLIC_URL's origin and
 * its host as RP ID (SECURITY.md rule 35), stored with what is known of the authenticator.
 */
import { randomUUID } from 'node:crypto';
import type * as SimpleWebAuthn from '@simplewebauthn/server';
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { RequestOrigin } from '../../audit/events.ts';
import type { Deps } from '../../deps.ts';
import { lockUser } from '../../storage/user-lock.ts';
import { recordFactorEnrolled, type StoredFactor } from '../enrollment-completion.ts';
import { consumeChallenge, issueChallenge, CHALLENGE_LIFETIME_MS } from './challenges.ts';
import { countSecurityKeys, lockMarker, MAX_KEYS_PER_USER, WEBAUTHN_KIND, type SecurityKey } from './keys.ts';
import type { RelyingParty } from './relying-party.ts';
import { claimedChallenge, knownTransports } from './response-shape.ts';

/**
 * @simplewebauthn/server and its ASN.1 and X.509 packages (~0.5 MB of code) are loaded at the
 * first security-key step, not at start (issue #18: a server's idle memory); in the compiled
 * build they are a chunk of their own.
 */
const simpleWebAuthn = () => import('@simplewebauthn/server');

type Offered = Extract<RelyingParty, { offered: true }>;

export type RegistrationOptionsOutcome = { ok: true; options: PublicKeyCredentialCreationOptionsJSON } | { ok: false; reason: 'too_many_keys' };

export async function startKeyRegistration(deps: Pick<Deps, 'db' | 'clock'>, rp: Offered, user: { userId: string; email: string; name: string }): Promise<RegistrationOptionsOutcome> {
  const existing = await deps.db.selectFrom('webauthn_credentials').select(['credential_id', 'transports']).where('user_id', '=', user.userId).execute();
  if (existing.length >= MAX_KEYS_PER_USER) return { ok: false, reason: 'too_many_keys' };
  const challenge = await issueChallenge(deps.db, deps.clock, { userId: user.userId, purpose: 'registration', subjectId: null });
  const options = await (await simpleWebAuthn()).generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.rpID,
    userID: new TextEncoder().encode(user.userId),
    userName: user.email,
    userDisplayName: user.name,
    challenge,
    timeout: CHALLENGE_LIFETIME_MS,
    // PRODUCT.md §4: attestation none, user verification preferred.
    attestationType: 'none',
    // The same key twice would be one factor counted as two.
    excludeCredentials: existing.map((row) => ({ id: row.credential_id, transports: knownTransports(row.transports.split(',')) })),
    authenticatorSelection: { residentKey: 'discouraged', userVerification: 'preferred' },
  });
  return { ok: true, options };
}

export type RegistrationRefusal = { ok: false; reason: 'challenge_invalid' | 'invalid_response' | 'too_many_keys' | 'credential_taken' };

export interface RegisteredKey extends StoredFactor {
  key: SecurityKey;
}

/** Thrown inside the transaction to undo it (the marker row must not outlive a refused key). */
class RolledBack extends Error {
  constructor(readonly refusal: RegistrationRefusal) {
    super(refusal.reason);
  }
}

/**
 * Verifies the browser's answer and stores the key, in one transaction with what every new factor
 * brings (recordFactorEnrolled). Recovery codes are issued only when this is the user's first
 * method: a second key must not silently void the codes the user saved.
 */
export async function finishKeyRegistration(
  deps: Pick<Deps, 'db' | 'clock' | 'keys' | 'log' | 'delivery'>,
  rp: Offered,
  session: { userId: string; accountId: string; tokenHash: string },
  input: { name: string; response: RegistrationResponseJSON },
  origin: RequestOrigin,
): Promise<RegisteredKey | RegistrationRefusal> {
  const challenge = claimedChallenge(input.response.response.clientDataJSON);
  if (challenge === null) return { ok: false, reason: 'invalid_response' };
  try {
    return await deps.db.transaction().execute(async (trx) => {
      // The user before any other row (storage/user-lock.ts): "is this the first method?" is read
      // below, and an app or SMS confirmed at the same moment must see this key, or wait for it —
      // otherwise both would think they are first and each hand out a set of recovery codes.
      await lockUser(trx, session.userId);
      const consumed = await consumeChallenge(trx, deps.clock, { userId: session.userId, purpose: 'registration', subjectId: null }, challenge);
      if (!consumed) return { ok: false, reason: 'challenge_invalid' } as const;
      const verified = await verifyRegistration(deps, rp, input.response, challenge);
      if (!verified) return { ok: false, reason: 'invalid_response' } as const;
      return storeKey({ ...deps, db: trx }, session, input.name, verified, origin);
    });
  } catch (error) {
    if (error instanceof RolledBack) return error.refusal;
    throw error;
  }
}

type VerifiedRegistration = NonNullable<Awaited<ReturnType<typeof SimpleWebAuthn.verifyRegistrationResponse>>['registrationInfo']>;

async function verifyRegistration(deps: Pick<Deps, 'log'>, rp: Offered, response: RegistrationResponseJSON, challenge: string): Promise<VerifiedRegistration | null> {
  try {
    const result = await (await simpleWebAuthn()).verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.rpID, requireUserVerification: false });
    return result.verified ? result.registrationInfo : null;
  } catch (error) {
    // The library throws for every kind of wrong answer (origin, RP ID, type, bad CBOR).
    deps.log.warn({ webauthn: 'registration_refused', why: error instanceof Error ? error.message.slice(0, 200) : 'unknown' }, 'a security key registration was refused');
    return null;
  }
}

async function storeKey(deps: Pick<Deps, 'db' | 'clock' | 'keys' | 'delivery'>, session: { userId: string; accountId: string; tokenHash: string }, name: string, info: VerifiedRegistration, origin: RequestOrigin): Promise<RegisteredKey | RegistrationRefusal> {
  const { db, clock } = deps;
  const taken = await db.selectFrom('webauthn_credentials').select('id').where('credential_id', '=', info.credential.id).executeTakeFirst();
  if (taken) return { ok: false, reason: 'credential_taken' };
  const methodsBefore = await db.selectFrom('factors').select('kind').where('user_id', '=', session.userId).execute();
  const now = clock.now();
  await lockMarker(db, session.userId, now);
  if ((await countSecurityKeys(db, session.userId)) >= MAX_KEYS_PER_USER) throw new RolledBack({ ok: false, reason: 'too_many_keys' });
  const id = randomUUID();
  const inserted = await db
    .insertInto('webauthn_credentials')
    .values({
      id,
      user_id: session.userId,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: knownTransports(info.credential.transports ?? []).join(','),
      aaguid: info.aaguid,
      backup_eligible: info.credentialDeviceType === 'multiDevice' ? 1 : 0,
      backed_up: info.credentialBackedUp ? 1 : 0,
      user_verified: info.userVerified ? 1 : 0,
      name,
      created_at: now,
      last_used_at: null,
    })
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  // Registered meanwhile by someone else (rule 35): undo the marker too.
  if (!inserted) throw new RolledBack({ ok: false, reason: 'credential_taken' });
  const firstMethod = methodsBefore.length === 0;
  const recoveryCodes = await recordFactorEnrolled(db, deps, session, { method: WEBAUTHN_KIND, replaced: false, issueRecoveryCodes: firstMethod, keyName: name }, origin);
  return { ok: true, factor: { method: 'webauthn', keyName: name }, replaced: false, recoveryCodes, key: { id, name, createdAt: now, lastUsedAt: null } };
}

