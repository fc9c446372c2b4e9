/**
 * `twofold rotate-key`: after ENCRYPTION_KEY has been set to a new key and the old one moved to
 * PREVIOUS_ENCRYPTION_KEYS, re-encrypt every stored secret under the new key (docs/operations.md,
 * "Rotating the encryption key"). Safe to run while servers serve, and to run again.
 */
import type { Config } from '../config.ts';
import { deriveKeys } from '../crypto/keys.ts';
import { reencryptSecrets } from '../factors/key-rotation.ts';
import { reencryptSigningKeys } from '../oidc/signing-keys.ts';
import { openStorage } from '../storage/database.ts';
import { reencryptWaitingMessages } from '../delivery/queue/queue-store.ts';
import { rewriteKeyCheck } from '../storage/key-check.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { UsageError } from './usage-error.ts';

export async function rotateKeyCommand(config: Config): Promise<number> {
  if (config.encryptionKeyIsDevelopmentDefault) throw new UsageError('rotate-key needs ENCRYPTION_KEY set to the new key (and the old one in PREVIOUS_ENCRYPTION_KEYS)');
  if (config.previousEncryptionKeys.length === 0) throw new UsageError('rotate-key needs the replaced key in PREVIOUS_ENCRYPTION_KEYS, or there is nothing to rotate from');
  // The new key listed as the old one: nothing would be rotated, and the real old key is missing.
  if (config.previousEncryptionKeys.some((key) => Buffer.from(key).equals(Buffer.from(config.encryptionKey)))) {
    throw new UsageError('PREVIOUS_ENCRYPTION_KEYS holds ENCRYPTION_KEY itself: put the replaced (old) key there and the new key in ENCRYPTION_KEY');
  }
  const storage = openStorage(config.databaseURL);
  try {
    await migrateToLatest(storage.db);
    const keys = deriveKeys(config.encryptionKey, config.previousEncryptionKeys);
    const report = await reencryptSecrets(storage.db, keys);
    const messages = await reencryptWaitingMessages(storage.db, keys);
    const signingKeys = await reencryptSigningKeys(storage.db, keys);
    // From now on the start-time check expects the new key.
    await rewriteKeyCheck(storage.db, keys, Date.now());
    console.log(`Re-encrypted under the current key: ${report.factors} factors, ${report.totpEnrollments} pending app enrollments, ${report.smsEnrollments} pending phone numbers, ${messages} queued messages, ${signingKeys} OpenID Connect signing keys.`);
    console.log('Keep the previous key in PREVIOUS_ENCRYPTION_KEYS while recovery codes issued before today should keep working.');
    return 0;
  } finally {
    await storage.close();
  }
}
