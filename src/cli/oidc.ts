/**
 * `twofold oidc …`: the applications that sign in through Twofold (PRODUCT.md §2.13). Output is
 * JSON on stdout; an add-client's secret appears there once and is stored only as a hash.
 * Signing keys are read at start: after `rotate-keys`, restart every instance so all of them
 * sign with the new key and publish both.
 */
import { systemClock } from '../clock.ts';
import type { Config } from '../config.ts';
import { deriveKeys } from '../crypto/keys.ts';
import { addClient, listClients, removeClient } from '../oidc/clients.ts';
import { loadSigningKeys, rotateSigningKeys } from '../oidc/signing-keys.ts';
import { openStorage } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { UsageError } from './usage-error.ts';

export interface OIDCOptions {
  name?: string;
  'redirect-uri'?: string[];
  'post-logout-redirect-uri'?: string[];
  'backchannel-logout-uri'?: string;
  public?: boolean;
  'require-2fa'?: boolean;
  'client-id'?: string;
}

export const oidcUsage = `  oidc add-client --name <name> --redirect-uri <url> [--redirect-uri <url>…] [--post-logout-redirect-uri <url>]
                 [--backchannel-logout-uri <url>] [--public] [--require-2fa]
                             Register an application; prints {"client_id", "client_secret"} (the secret only now)
  oidc list-clients          List the registered applications as JSON
  oidc remove-client --client-id <id>
                             Remove an application and end everything issued to it
  oidc rotate-keys           Make a new ID-token signing key (the previous one stays published); restart the servers after`;

export async function oidcCommand(config: Config, subcommand: string | undefined, options: OIDCOptions): Promise<number> {
  const storage = openStorage(config.databaseURL);
  try {
    await migrateToLatest(storage.db);
    const db = storage.db;
    switch (subcommand) {
      case 'add-client': {
        if (!options.name) throw new UsageError('add-client needs --name');
        const added = await addClient(
          db,
          systemClock,
          {
            name: options.name,
            redirectURIs: options['redirect-uri'] ?? [],
            postLogoutRedirectURIs: options['post-logout-redirect-uri'] ?? [],
            backchannelLogoutURI: options['backchannel-logout-uri'] ?? null,
            public: options.public === true,
            require2FA: options['require-2fa'] === true,
          },
          config.production,
        );
        if (!added.ok) throw new UsageError(added.problem);
        console.log(JSON.stringify({ client_id: added.clientId, ...(added.clientSecret ? { client_secret: added.clientSecret } : {}) }));
        return 0;
      }
      case 'list-clients':
        console.log(JSON.stringify(await listClients(db), null, 2));
        return 0;
      case 'remove-client': {
        const clientId = options['client-id'];
        if (!clientId) throw new UsageError('remove-client needs --client-id');
        if (!(await removeClient(db, systemClock, clientId))) throw new UsageError(`No application has the client id "${clientId}".`);
        console.log(JSON.stringify({ removed: clientId }));
        return 0;
      }
      case 'rotate-keys': {
        const keys = deriveKeys(config.encryptionKey, config.previousEncryptionKeys);
        // A database that never served has no key yet: make the first one, then rotate it out.
        await loadSigningKeys(db, systemClock, keys);
        const rotated = await rotateSigningKeys(db, systemClock, keys);
        console.log(JSON.stringify({ signing_kid: rotated.kid, still_published: rotated.retired }));
        console.error('Restart every Twofold instance so all of them sign with the new key.');
        return 0;
      }
      default:
        throw new UsageError(`Unknown oidc command "${subcommand ?? ''}".\n\n${oidcUsage}`);
    }
  } finally {
    await storage.close();
  }
}
