/**
 * The provider's ID-token signing keys (SECURITY.md rule 40): RSA 2048 keys pinned to RS256,
 * generated at first start, the private JWK encrypted under ENCRYPTION_KEY. Instances starting
 * together make one key: the first key is inserted with `first_key = 1`, a unique column, so
 * only one insert wins and the others read the winner's key. `rotate-keys` retires the current
 * key and adds a new one; a retired key stays published (not used to sign) for a day, longer
 * than any ID token it signed lives (1 hour).
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Clock } from '../clock.ts';
import { encryptSecret, openSecret } from '../crypto/encryption.ts';
import type { Keys } from '../crypto/keys.ts';
import type { Database } from '../storage/schema.ts';

export const SIGNING_ALGORITHM = 'RS256';
const RETIRED_KEY_PUBLISHED_MS = 24 * 60 * 60 * 1000;

export interface PrivateJWK {
  kid: string;
  kty: string;
  alg: string;
  use: 'sig';
  [member: string]: unknown;
}

const generateRSAKeyPair = promisify(generateKeyPair);

/** On a thread of the pool: an RSA key takes 100–300 ms to find, which the event loop must not wait out. */
async function newKey(): Promise<PrivateJWK> {
  const { privateKey } = await generateRSAKeyPair('rsa', { modulusLength: 2048 });
  const kid = randomBytes(12).toString('base64url');
  return { ...(privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, kty: 'RSA', alg: SIGNING_ALGORITHM, use: 'sig' };
}

function associatedData(kid: string): string {
  return `oidc signing key ${kid}`;
}

function sealKey(keys: Keys, key: PrivateJWK): string {
  return encryptSecret(keys.encryption, Buffer.from(JSON.stringify(key), 'utf8'), associatedData(key.kid));
}

/** The keys to publish, the signing key first; makes the first key when there is none. */
export async function loadSigningKeys(db: Database, clock: Clock, keys: Keys): Promise<PrivateJWK[]> {
  let rows = await publishedRows(db, clock);
  if (rows.length === 0) {
    const key = await newKey();
    await db
      .insertInto('oidc_signing_keys')
      .values({ kid: key.kid, private_jwk_encrypted: sealKey(keys, key), created_at: clock.now(), retired_at: null, first_key: 1 })
      .onConflict((oc) => oc.column('first_key').doNothing())
      .execute();
    rows = await publishedRows(db, clock);
  }
  return rows.map((row) => JSON.parse(Buffer.from(openSecret(keys, row.private_jwk_encrypted, associatedData(row.kid))).toString('utf8')) as PrivateJWK);
}

async function publishedRows(db: Database, clock: Clock) {
  return db
    .selectFrom('oidc_signing_keys')
    .select(['kid', 'private_jwk_encrypted', 'retired_at'])
    .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', clock.now() - RETIRED_KEY_PUBLISHED_MS)]))
    .orderBy('created_at', 'desc')
    .execute()
    // The current (unretired) key first: the provider signs with the first key of the algorithm.
    .then((rows) => [...rows.filter((row) => row.retired_at === null), ...rows.filter((row) => row.retired_at !== null)]);
}

/** Retires the current key(s) and adds a new signing key; answers the new kid. */
export async function rotateSigningKeys(db: Database, clock: Clock, keys: Keys): Promise<{ kid: string; retired: string[] }> {
  const key = await newKey();
  const now = clock.now();
  return db.transaction().execute(async (trx) => {
    const retired = await trx.updateTable('oidc_signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).returning('kid').execute();
    await trx.insertInto('oidc_signing_keys').values({ kid: key.kid, private_jwk_encrypted: sealKey(keys, key), created_at: now, retired_at: null, first_key: null }).execute();
    return { kid: key.kid, retired: retired.map((row) => row.kid) };
  });
}

/** `twofold rotate-key`: re-encrypt every signing key under the current ENCRYPTION_KEY. */
export async function reencryptSigningKeys(db: Database, keys: Keys): Promise<number> {
  const rows = await db.selectFrom('oidc_signing_keys').select(['kid', 'private_jwk_encrypted']).execute();
  for (const row of rows) {
    const key = JSON.parse(Buffer.from(openSecret(keys, row.private_jwk_encrypted, associatedData(row.kid))).toString('utf8')) as PrivateJWK;
    await db.updateTable('oidc_signing_keys').set({ private_jwk_encrypted: sealKey(keys, key) }).where('kid', '=', row.kid).execute();
  }
  return rows.length;
}
