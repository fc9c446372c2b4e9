/**
 * Using a security key (PRODUCT.md §2.9 step 3; SECURITY.md rules 35 and 36): request options
 * with a server-side challenge bound to the user, the purpose and, at login, the pending login;
 * then the browser's assertion, verified by @simplewebauthn/server against that challenge,
 * PUBLIC_URL's origin and host, and one of THIS user's credentials.
 *
 * The challenge is consumed before the signature is checked (one conditional write): of two
 * requests with the same assertion only one gets further, and a replay finds nothing. The new
 * signature counter is written by a conditional update too, so two clones racing cannot both
 * pass: a non-zero counter that does not increase is refused and logged (a cloned key), a
 * counter of zero (synced passkeys do not count) is accepted.
 */
import type * as SimpleWebAuthn from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { Deps } from '../../deps.ts';
import type { WebAuthnPurpose } from '../../storage/schema.ts';
import { CHALLENGE_LIFETIME_MS, consumeChallenge, issueChallenge } from './challenges.ts';
import type { RelyingParty } from './relying-party.ts';
import { claimedChallenge, knownTransports } from './response-shape.ts';

/**
 * @simplewebauthn/server and its ASN.1 and X.509 packages (~0.5 MB of code) are loaded at the
 * first security-key step, not at start (issue #18: a server's idle memory); in the compiled
 * build they are a chunk of their own.
 */
const simpleWebAuthn = () => import('@simplewebauthn/server');

type Offered = Extract<RelyingParty, { offered: true }>;
type AssertionDeps = Pick<Deps, 'db' | 'clock' | 'log'>;

export interface AssertionBinding {
  userId: string;
  purpose: Exclude<WebAuthnPurpose, 'registration'>;
  /** At login: the pending login's id. */
  subjectId: string | null;
}

/** Request options for the user's keys; null when the user has none. */
export async function startAssertion(deps: Pick<Deps, 'db' | 'clock'>, rp: Offered, binding: AssertionBinding): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
  const keys = await deps.db.selectFrom('webauthn_credentials').select(['credential_id', 'transports']).where('user_id', '=', binding.userId).execute();
  if (keys.length === 0) return null;
  const challenge = await issueChallenge(deps.db, deps.clock, binding);
  return (await simpleWebAuthn()).generateAuthenticationOptions({
    rpID: rp.rpID,
    challenge,
    timeout: CHALLENGE_LIFETIME_MS,
    userVerification: 'preferred',
    allowCredentials: keys.map((key) => ({ id: key.credential_id, transports: knownTransports(key.transports.split(',').filter(Boolean)) })),
  });
}

/** Checks an assertion (already of the right shape) and consumes its challenge; true when it proves the user. */
export async function verifyAssertion(deps: AssertionDeps, rp: Offered, binding: AssertionBinding, response: AuthenticationResponseJSON): Promise<boolean> {
  const challenge = claimedChallenge(response.response.clientDataJSON);
  if (challenge === null) return false;
  if (!(await consumeChallenge(deps.db, deps.clock, binding, challenge))) return false;
  // Only this user's credentials: another user's key proves nothing about this one (rule 35).
  const key = await deps.db
    .selectFrom('webauthn_credentials')
    .select(['id', 'credential_id', 'public_key', 'counter', 'transports'])
    .where('credential_id', '=', response.id)
    .where('user_id', '=', binding.userId)
    .executeTakeFirst();
  if (!key) return false;
  const storedCounter = Number(key.counter);
  let verified: Awaited<ReturnType<typeof SimpleWebAuthn.verifyAuthenticationResponse>>;
  try {
    verified = await (await simpleWebAuthn()).verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      credential: { id: key.credential_id, publicKey: Uint8Array.from(Buffer.from(key.public_key, 'base64url')), counter: storedCounter, transports: knownTransports(key.transports.split(',').filter(Boolean)) },
      requireUserVerification: false,
    });
  } catch (error) {
    const why = error instanceof Error ? error.message : 'unknown';
    if (/counter/i.test(why)) logClonedKey(deps, binding.userId, key.id, storedCounter);
    else deps.log.warn({ webauthn: 'assertion_refused', why: why.slice(0, 200) }, 'a security key assertion was refused');
    return false;
  }
  if (!verified.verified) return false;
  const { newCounter, credentialBackedUp } = verified.authenticationInfo;
  const updated = await deps.db
    .updateTable('webauthn_credentials')
    .set({ counter: newCounter, last_used_at: deps.clock.now(), backed_up: credentialBackedUp ? 1 : 0 })
    .where('id', '=', key.id)
    // Zero stays zero (a key that does not count); anything else must go up.
    .where('counter', newCounter === 0 ? '=' : '<', newCounter)
    .returning('id')
    .executeTakeFirst();
  if (!updated) {
    logClonedKey(deps, binding.userId, key.id, storedCounter);
    return false;
  }
  return true;
}

/** Rule 36: a counter that went backwards or stood still means two copies of one key. */
function logClonedKey(deps: Pick<Deps, 'log'>, userId: string, keyId: string, storedCounter: number): void {
  deps.log.warn({ webauthn: 'counter_not_increasing', userId, keyId, storedCounter }, 'a security key answered with a signature counter that did not increase: refused (possibly a cloned key)');
}
