/**
 * The `twofold` command: serve, migrate, create-account, config. It reads the same environment
 * as the server. Errors a user can fix print one clear line and exit non-zero.
 */
import { parseArgs } from 'node:util';
import { ConfigError, describeConfiguration, loadConfig as readConfig, type Config } from '../config.ts';
import { databaseUnavailableReason } from '../storage/database.ts';
import { serve } from '../server.ts';
import { migrateCommand } from './migrate.ts';
import { oidcCommand, oidcUsage } from './oidc.ts';
import { rotateKeyCommand } from './rotate-key.ts';
import { createAccountCommand } from './create-account.ts';
import { disable2FACommand, showUserCommand } from './support.ts';
import { UsageError } from './usage-error.ts';

const usage = `Usage: twofold <command> [options]

Commands:
  serve                      Run the portal (migrates the database first)
  migrate                    Apply database migrations and exit
  create-account --account-name <name> --name <your name> --email <email> [--password-stdin]
                             Create an account and its first administrator
  support disable-2fa --email <email> --reason "<ticket>" [--yes]
                             Turn off a user's 2FA (asks to confirm unless --yes), sign out their sessions, e-mail them
  support show-user --email <email>
                             Show a user's account, role, 2FA methods, last login and recent security events
  rotate-key                 Re-encrypt stored secrets under ENCRYPTION_KEY after a key change
                             (the replaced key in PREVIOUS_ENCRYPTION_KEYS)
${oidcUsage}
  config                     List every configuration variable with its default
`;



/** The DATABASE_URL the command runs against, so a connection failure can name it. */
let databaseURL: string | null = null;

function loadConfig(): Config {
  const config = readConfig();
  databaseURL = config.databaseURL;
  return config;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(loadConfig());
      return -1; // keeps running
    case 'migrate':
      return migrateCommand(loadConfig());
    case 'create-account':
      return createAccountCommand(loadConfig(), parseArgs({ args: rest, options: { 'account-name': { type: 'string' }, name: { type: 'string' }, email: { type: 'string' }, 'password-stdin': { type: 'boolean' } } }).values);
    case 'support': {
      const [subcommand, ...supportArgs] = rest;
      const values = parseArgs({ args: supportArgs, options: { email: { type: 'string' }, reason: { type: 'string' }, yes: { type: 'boolean' } } }).values;
      if (subcommand === 'show-user') return showUserCommand(loadConfig(), values);
      if (subcommand === 'disable-2fa') return disable2FACommand(loadConfig(), values);
      throw new UsageError(`Unknown support command "${subcommand ?? ''}".\n\n${usage}`);
    }
    case 'oidc': {
      const [subcommand, ...oidcArgs] = rest;
      const { values } = parseArgs({
        args: oidcArgs,
        options: {
          name: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          'backchannel-logout-uri': { type: 'string' },
          public: { type: 'boolean' },
          'require-2fa': { type: 'boolean' },
          'client-id': { type: 'string' },
        },
      });
      return oidcCommand(loadConfig(), subcommand, values);
    }
    case 'rotate-key':
      return rotateKeyCommand(loadConfig());
    case 'config':
      console.log(describeConfiguration().join('\n'));
      return 0;
    case undefined:
    case 'help':
    case '--help':
      console.log(usage);
      return command === undefined ? 1 : 0;
    default:
      throw new UsageError(`Unknown command "${command}".\n\n${usage}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(`twofold: ${error.message}`);
      process.exit(2);
    }
    const unavailable = databaseURL === null ? null : databaseUnavailableReason(error, databaseURL);
    if (unavailable) {
      console.error(`twofold: ${unavailable}`);
      process.exit(2);
    }
    console.error('twofold: failed:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
