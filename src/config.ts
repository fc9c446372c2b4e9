/**
 * Configuration: one validated table of options read from environment variables.
 * Every option documents itself (description and default); `describeConfiguration()` prints
 * the table, and docs/configuration.md mirrors it (test/unit/docs-agree.test.ts checks). Secrets come only from the environment.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { getCountries, getCountryCallingCode } from 'libphonenumber-js/max';

export interface Policy {
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  sessionTouchIntervalMs: number;
  recentAuthenticationMs: number;
  passwordMinLength: number;
  passwordMaxLength: number;
  failedPasswordsPerEmail: number;
  failedPasswordsPerIP: number;
  failedPasswordWindowMs: number;
  resetLinkMs: number;
  invitationLinkMs: number;
  /** The "This wasn't me" link of a security notice (PRODUCT.md §2.12, §4). */
  reportLinkMs: number;
  /** The sign-up's e-mail verification link (issue 17). */
  emailVerificationLinkMs: number;
  /** Verification e-mails one user may ask for per hour (the resend button). */
  verificationEmailsPerUserPerHour: number;
  disableLinkMs: number;
  signupsPerIPPerHour: number;
  /** Rule 44: forgot-password e-mails per address and per client IP, per hour. */
  passwordResetsPerEmailPerHour: number;
  passwordResetsPerIPPerHour: number;
  /** Rule 44: invitations an account, and a client IP, may send per hour. */
  invitationsPerAccountPerHour: number;
  invitationsPerIPPerHour: number;
  loginChallengeMs: number;
  wrongCodesPerChallenge: number;
  wrongCodesPerUser: number;
  wrongCodesWindowMs: number;
  secondFactorLockMs: number;
  totpEnrollmentMs: number;
  /** Lifetime of a texted code. */
  smsCodeMs: number;
  /** Tries per texted code (kept across resends of one enrollment or login). */
  smsCodeAttempts: number;
  /** Wait between two texts for one enrollment or login, from the last one sent. */
  smsResendCooldownMs: number;
  /** Window of the three send caps below. */
  smsCapWindowMs: number;
  smsPerNumberPerWindow: number;
  smsPerAccountPerWindow: number;
  smsPerIPPerWindow: number;
  passwordHashConcurrency: number;
  passwordHashQueue: number;
  requestsPerMinutePerIP: number;
}

export type SMSProviderConfig =
  | { provider: 'outbox' }
  | { provider: 'none' }
  | { provider: 'twilio'; accountSID: string; authToken: string; from: string | null; messagingServiceSID: string | null; apiBaseURL: string; timeoutMs: number }
  | { provider: 'webhook'; url: string; secret: string; timeoutMs: number };

export interface Config {
  production: boolean;
  port: number;
  host: string;
  publicURL: URL;
  databaseURL: string;
  /** Most PostgreSQL connections one instance holds (requests beyond it wait for one). */
  databasePoolSize: number;
  /** 32 bytes: AES-256-GCM for secrets at rest; HMAC keys are derived from it. */
  encryptionKey: Uint8Array;
  /** Keys replaced by ENCRYPTION_KEY, still accepted for reading what they protected (key rotation). */
  previousEncryptionKeys: Uint8Array[];
  encryptionKeyIsDevelopmentDefault: boolean;
  /** Where the generated development key is kept; null when ENCRYPTION_KEY is set. */
  developmentKeyPath: string | null;
  smtpURL: string | null;
  sms: SMSProviderConfig;
  /** Country calling codes texts may go to ("1", "44"); null sends to every country. */
  smsAllowedCountryCodes: string[] | null;
  mailFrom: string;
  signupEnabled: boolean;
  trustedProxies: string[];
  issuer: string;
  logLevel: string;
  /** Where the per-IP limits and SMS caps count when set; null counts them in the database. */
  redis: { url: string; keyPrefix: string } | null;
  /** Bearer token that opens GET /metrics; null keeps /metrics off (404). */
  metricsToken: string | null;
  policy: Policy;
  /** The delivery queue's worker (src/delivery/queue/). */
  delivery: DeliverySettings;
  /** How long a shutdown lets requests in progress finish before closing their connections. */
  shutdownDrainMs: number;
}

export interface DeliverySettings {
  /** How often a worker looks for due messages (it is also woken at once by its own enqueues). */
  pollMs: number;
  /** A claimed message whose worker has not finished within this is taken back (a crash mid-send). */
  leaseMs: number;
  /** Tries before a message is given up as failed. */
  maxAttempts: number;
  /** Wait before the first retry; it doubles with every try, up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

interface Option<T> {
  name: string;
  description: string;
  defaultText: string;
  read(value: string | undefined, env: Env): T;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function integerOption(name: string, description: string, fallback: number, min: number, max: number): Option<number> {
  return {
    name,
    description,
    defaultText: String(fallback),
    read(value) {
      if (value === undefined || value === '') return fallback;
      if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be a ${min >= 1 ? 'positive ' : ''}whole number from ${min} to ${max}, got "${value}"`);
      const parsed = Number(value);
      if (parsed < min || parsed > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${parsed}`);
      return parsed;
    },
  };
}

function booleanOption(name: string, description: string, fallback: boolean): Option<boolean> {
  return {
    name,
    description,
    defaultText: String(fallback),
    read(value) {
      if (value === undefined || value === '') return fallback;
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      throw new ConfigError(`${name} must be true or false, got "${value}"`);
    },
  };
}

function stringOption(name: string, description: string, fallback: string): Option<string> {
  return { name, description, defaultText: fallback || '(empty)', read: (value) => (value === undefined || value === '' ? fallback : value) };
}

const options = {
  nodeEnv: stringOption('NODE_ENV', '"production" turns on production mode: no outbox, secure cookies, HSTS, the encryption key is required; "development" (or "test") runs with the outbox. Any other value refuses to start', 'development'),
  port: integerOption('PORT', 'TCP port to listen on', 3000, 0, 65535),
  host: stringOption('HOST', 'Interface to listen on', '127.0.0.1'),
  publicURL: stringOption('PUBLIC_URL', 'Base URL of links in e-mails and the only origin accepted for forms; must be https:// in production', 'http://localhost:PORT'),
  databaseURL: stringOption('DATABASE_URL', 'sqlite:<file path> or postgres://user@host:port/db', 'sqlite:./data/twofold.db'),
  databasePoolSize: integerOption('DATABASE_POOL_SIZE', 'Most PostgreSQL connections one instance opens (queries beyond it wait for a free one); keep instances × pool size below the server\'s max_connections. Ignored for SQLite', 10, 1, 1000),
  previousEncryptionKeys: stringOption('PREVIOUS_ENCRYPTION_KEYS', 'Comma-separated keys that ENCRYPTION_KEY replaced: still decrypt secrets and match recovery codes stored under them (see "Rotating the encryption key" in docs/operations.md)', ''),
  encryptionKey: stringOption('ENCRYPTION_KEY', '32 random bytes, base64 or hex; encrypts TOTP secrets and phone numbers (AES-256-GCM) and keys the hashes. Required in production; in development a key is generated into dev-encryption.key beside the SQLite file (./data with PostgreSQL), and moving from it to a real key is a rotation (it goes in PREVIOUS_ENCRYPTION_KEYS)', ''),
  smtpURL: stringOption('SMTP_URL', 'smtp://user:password@host:port (or smtps://) for e-mail; unset means the development outbox', ''),
  smsProvider: stringOption('SMS_PROVIDER', 'outbox (development only), twilio or webhook; production without one offers no SMS factor', ''),
  twilioAccountSID: stringOption('TWILIO_ACCOUNT_SID', 'Twilio account SID (AC…)', ''),
  twilioAuthToken: stringOption('TWILIO_AUTH_TOKEN', 'Twilio auth token', ''),
  twilioFrom: stringOption('TWILIO_FROM', 'Sender number in E.164 (or set TWILIO_MESSAGING_SERVICE_SID)', ''),
  twilioMessagingServiceSID: stringOption('TWILIO_MESSAGING_SERVICE_SID', 'Twilio messaging service (MG…), instead of TWILIO_FROM', ''),
  twilioAPIBaseURL: stringOption('TWILIO_API_BASE_URL', 'Base URL of the Twilio REST API', 'https://api.twilio.com'),
  smsWebhookURL: stringOption('SMS_WEBHOOK_URL', 'URL that receives a signed JSON POST per text message', ''),
  smsWebhookSecret: stringOption('SMS_WEBHOOK_SECRET', 'Secret of the HMAC-SHA256 signature on webhook POSTs (at least 32 characters)', ''),
  smsTimeoutMs: integerOption('SMS_TIMEOUT_MS', 'How long one SMS provider request may take', 10_000, 100, 120_000),
  mailFrom: stringOption('MAIL_FROM', 'Sender address of e-mails', 'Twofold <no-reply@localhost>'),
  signupEnabled: booleanOption('SIGNUP_ENABLED', 'Whether /signup creates new accounts', true),
  trustedProxies: stringOption('TRUSTED_PROXIES', 'Comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed; empty believes none', ''),
  issuer: stringOption('TOTP_ISSUER', 'Issuer name shown in authenticator apps', 'Twofold'),
  logLevel: stringOption('LOG_LEVEL', 'pino log level (fatal, error, warn, info, debug, trace, silent)', 'info'),
  redisURL: stringOption('REDIS_URL', 'redis://[user:password@]host:port[/db] (or rediss://): per-IP limits, SMS caps and the flood guard count there, shared by every instance; unset counts them in the database (the flood guard then per instance). If Redis stops answering, limited requests get 503 until it is back', ''),
  metricsToken: stringOption('METRICS_TOKEN', 'Turns on Prometheus metrics at GET /metrics, read with "Authorization: Bearer <token>" (at least 16 characters); unset answers 404', ''),
  redisKeyPrefix: stringOption('REDIS_KEY_PREFIX', 'Put before every Redis key, so deployments sharing one Redis do not share counters', 'twofold:'),
  sessionIdleMinutes: integerOption('SESSION_IDLE_MINUTES', 'A session unused this long expires', 12 * 60, 1, 60 * 24 * 30),
  sessionAbsoluteHours: integerOption('SESSION_ABSOLUTE_HOURS', 'A session expires this long after login, used or not', 7 * 24, 1, 24 * 90),
  recentAuthMinutes: integerOption('RECENT_AUTH_MINUTES', 'Sensitive actions need a login or password re-entry this recent', 15, 1, 24 * 60),
  failedPasswordsPerEmail: integerOption('FAILED_PASSWORDS_PER_EMAIL', 'Failed passwords for one email within the window before 429', 10, 1, 10_000),
  failedPasswordsPerIP: integerOption('FAILED_PASSWORDS_PER_IP', 'Failed passwords from one IP within the window before 429', 100, 1, 1_000_000),
  failedPasswordWindowMinutes: integerOption('FAILED_PASSWORD_WINDOW_MINUTES', 'Window of the failed-password limits', 15, 1, 24 * 60),
  signupsPerIPPerHour: integerOption('SIGNUPS_PER_IP_PER_HOUR', 'Sign-ups accepted from one IP per hour', 100, 1, 1_000_000),
  passwordResetsPerEmailPerHour: integerOption('PASSWORD_RESETS_PER_EMAIL_PER_HOUR', 'Password reset e-mails sent to one address per hour; further requests still answer 202 and send nothing', 3, 1, 1000),
  passwordResetsPerIPPerHour: integerOption('PASSWORD_RESETS_PER_IP_PER_HOUR', 'Password reset e-mails requested from one client IP per hour; further requests still answer 202 and send nothing', 20, 1, 1_000_000),
  invitationsPerAccountPerHour: integerOption('INVITATIONS_PER_ACCOUNT_PER_HOUR', 'Invitations one account may send per hour (429 beyond)', 100, 1, 1_000_000),
  invitationsPerIPPerHour: integerOption('INVITATIONS_PER_IP_PER_HOUR', 'Invitations sent from one client IP per hour, whichever accounts it uses (429 beyond)', 100, 1, 1_000_000),
  passwordHashConcurrency: integerOption('PASSWORD_HASH_CONCURRENCY', 'Password hashes computed at once (bounded so session checks never queue behind them)', 2, 1, 64),
  passwordHashQueue: integerOption('PASSWORD_HASH_QUEUE', 'Password hashes waiting before new logins get 503 with Retry-After', 64, 0, 100_000),
  requestsPerMinutePerIP: integerOption('REQUESTS_PER_MINUTE_PER_IP', 'Coarse flood guard: requests from one IP per minute on any route, per instance or shared through REDIS_URL (security limits are separate and shared)', 1200, 1, 100_000_000),
  totpEnrollmentMinutes: integerOption('TOTP_ENROLLMENT_MINUTES', 'Lifetime of a pending authenticator-app secret (the rotating QR code)', 5, 1, 60),
  smsCodeMinutes: integerOption('SMS_CODE_MINUTES', 'Lifetime of a code sent by text message', 10, 1, 60),
  smsResendSeconds: integerOption('SMS_RESEND_SECONDS', 'Wait before another text can be sent for the same enrollment or login', 30, 1, 3600),
  smsPerNumberPerHour: integerOption('SMS_PER_NUMBER_PER_HOUR', 'Texts sent to one phone number per hour, whoever asks (SMS pumping and cost defence)', 5, 1, 10_000),
  smsPerAccountPerHour: integerOption('SMS_PER_ACCOUNT_PER_HOUR', 'Texts sent for the users of one account per hour', 20, 1, 1_000_000),
  smsPerIPPerHour: integerOption('SMS_PER_IP_PER_HOUR', 'Texts requested from one client IP per hour', 50, 1, 1_000_000),
  deliveryPollMs: integerOption('DELIVERY_POLL_MS', 'How often each instance looks for queued e-mails to send (it also looks at once after queueing one itself)', 1000, 10, 60_000),
  deliveryMaxAttempts: integerOption('DELIVERY_MAX_ATTEMPTS', 'Tries before a queued message is given up and marked failed', 12, 1, 100),
  deliveryRetrySeconds: integerOption('DELIVERY_RETRY_SECONDS', 'Wait before retrying a message that failed; doubles with each try, at most one hour', 5, 1, 3600),
  deliveryLeaseSeconds: integerOption('DELIVERY_LEASE_SECONDS', 'A message claimed by an instance that has not finished within this (it crashed mid-send) is taken back by another', 60, 2, 3600),
  shutdownDrainSeconds: integerOption('SHUTDOWN_DRAIN_SECONDS', 'On SIGTERM/SIGINT, idle connections close at once; requests in progress get this long to finish before every connection is closed', 10, 0, 300),
  smsAllowedCountryCodes: stringOption('SMS_ALLOWED_COUNTRY_CODES', 'Comma-separated country calling codes texts may go to (for example "1,44"); empty allows every country', ''),
} satisfies Record<string, Option<unknown>>;

/** Lines for `twofold config`: every option, its default and what it does. */
export function describeConfiguration(): string[] {
  return Object.values(options).map((option) => `${option.name} (default ${option.defaultText}): ${option.description}`);
}

/** NODE_ENV values: a typo such as "prod" must not quietly run in development with the outbox on. */
const NODE_ENVIRONMENTS = ['production', 'development', 'test'];

function readProduction(nodeEnv: string): boolean {
  if (!NODE_ENVIRONMENTS.includes(nodeEnv)) throw new ConfigError(`NODE_ENV must be production, development or test, got "${nodeEnv}"`);
  return nodeEnv === 'production';
}

/** pino's levels; pino itself would refuse another with a message that does not name LOG_LEVEL. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function readLogLevel(level: string): string {
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return level;
}

function parseKey(text: string, name = 'ENCRYPTION_KEY'): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (bytes.length !== 32) throw new ConfigError(`${name} must be 32 bytes, given as 64 hex digits or base64 (for example: openssl rand -base64 32)`);
  return new Uint8Array(bytes);
}

/** Where the generated development key lives: beside the SQLite file, or ./data with PostgreSQL. */
function developmentKeyPath(databaseURL: string): string {
  const folder = databaseURL.startsWith('sqlite:') ? dirname(databaseURL.slice('sqlite:'.length)) : './data';
  return resolve(folder, 'dev-encryption.key');
}

function developmentKey(databaseURL: string): Uint8Array {
  // Kept beside the SQLite file so the default install keeps decrypting what it stored.
  const path = developmentKeyPath(databaseURL);
  try {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600 });
    }
    return parseKey(readFileSync(path, 'utf8'));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // The folder is the SQLite database's: naming only the key file would send the operator
    // looking for a setting that does not exist.
    const reason = error instanceof Error ? error.message : String(error);
    if (databaseURL.startsWith('sqlite:')) throw new ConfigError(`DATABASE_URL: cannot write in ${dirname(path)}, the folder of the SQLite database and of the generated development key (${reason}); point DATABASE_URL at a folder Twofold can write`);
    throw new ConfigError(`ENCRYPTION_KEY is not set and the development key cannot be written (${reason}); set ENCRYPTION_KEY`);
  }
}

/** Country calling codes libphonenumber knows, plus the non-geographic ones (+800, +882 …). */
function knownCallingCodes(): Set<string> {
  return new Set([...getCountries().map((country) => getCountryCallingCode(country)), '800', '808', '870', '878', '881', '882', '883', '888', '979']);
}

function parseAllowedCountryCodes(text: string): string[] | null {
  const codes = text.split(',').map((item) => item.trim().replace(/^\+/, '')).filter((item) => item.length > 0);
  if (codes.length === 0) return null;
  const known = knownCallingCodes();
  for (const code of codes) {
    if (!/^\d{1,3}$/.test(code) || !known.has(code)) throw new ConfigError(`SMS_ALLOWED_COUNTRY_CODES must list country calling codes such as "1,44"; "${code}" is not one`);
  }
  return [...new Set(codes)];
}

/** The names proxy-addr (behind Fastify's trustProxy) accepts besides addresses and CIDRs. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyEntry(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry) || isIP(entry) !== 0) return true;
  const [address = '', range, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || range === undefined || rest.length > 0) return false;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (version === 4 ? 32 : 128);
  return version === 4 && isIP(range) === 4; // a netmask: 10.0.0.0/255.0.0.0
}

function parseTrustedProxies(text: string): string[] {
  const entries = text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  for (const entry of entries) {
    if (!isProxyEntry(entry)) throw new ConfigError(`TRUSTED_PROXIES must list IP addresses or CIDR ranges (for example "10.0.0.0/8,192.168.1.10"); "${entry}" is not one`);
  }
  return entries;
}

function readSMSProvider(read: <T>(option: Option<T>) => T, production: boolean): SMSProviderConfig {
  const provider = read(options.smsProvider) || (production ? 'none' : 'outbox');
  const timeoutMs = read(options.smsTimeoutMs);
  switch (provider) {
    case 'outbox':
      if (production) throw new ConfigError('SMS_PROVIDER=outbox is not available in production');
      return { provider: 'outbox' };
    case 'none':
      return { provider: 'none' };
    case 'twilio': {
      const accountSID = read(options.twilioAccountSID);
      const authToken = read(options.twilioAuthToken);
      const from = read(options.twilioFrom) || null;
      const messagingServiceSID = read(options.twilioMessagingServiceSID) || null;
      if (!/^AC[0-9a-fA-F]{32}$/.test(accountSID)) throw new ConfigError('TWILIO_ACCOUNT_SID must be your account SID (AC followed by 32 hex digits)');
      if (!authToken) throw new ConfigError('TWILIO_AUTH_TOKEN is required with SMS_PROVIDER=twilio');
      if (!from && !messagingServiceSID) throw new ConfigError('Set TWILIO_FROM (an E.164 number) or TWILIO_MESSAGING_SERVICE_SID with SMS_PROVIDER=twilio');
      const apiBaseURL = read(options.twilioAPIBaseURL).replace(/\/$/, '');
      if (!/^https?:\/\//.test(apiBaseURL)) throw new ConfigError('TWILIO_API_BASE_URL must be an http(s) URL');
      return { provider: 'twilio', accountSID, authToken, from, messagingServiceSID, apiBaseURL, timeoutMs };
    }
    case 'webhook': {
      const url = read(options.smsWebhookURL);
      const secret = read(options.smsWebhookSecret);
      if (!/^https?:\/\//.test(url)) throw new ConfigError('SMS_WEBHOOK_URL must be an http(s) URL with SMS_PROVIDER=webhook');
      if (secret.length < 32) throw new ConfigError('SMS_WEBHOOK_SECRET must be at least 32 characters');
      return { provider: 'webhook', url, secret, timeoutMs };
    }
    default:
      throw new ConfigError(`SMS_PROVIDER must be outbox, twilio or webhook, got "${provider}"`);
  }
}

function readRedis(read: <T>(option: Option<T>) => T): Config['redis'] {
  const url = read(options.redisURL);
  if (!url) return null;
  if (!/^rediss?:\/\/[^/]/.test(url)) throw new ConfigError('REDIS_URL must start with redis:// or rediss:// and name a host');
  return { url, keyPrefix: read(options.redisKeyPrefix) };
}

function readMetricsToken(read: <T>(option: Option<T>) => T): string | null {
  const token = read(options.metricsToken);
  if (!token) return null;
  if (token.length < 16 || /\s/.test(token)) throw new ConfigError('METRICS_TOKEN must be at least 16 characters without spaces (for example: openssl rand -hex 24)');
  return token;
}

export function loadConfig(env: Env = process.env): Config {
  const read = <T>(option: Option<T>): T => option.read(env[option.name], env);
  const production = readProduction(read(options.nodeEnv));
  const port = read(options.port);
  const publicText = env.PUBLIC_URL || `http://localhost:${port}`;
  let publicURL: URL;
  try {
    publicURL = new URL(publicText);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an absolute http(s) URL, got "${publicText}"`);
  }
  if (publicURL.protocol !== 'http:' && publicURL.protocol !== 'https:') throw new ConfigError('PUBLIC_URL must start with http:// or https://');
  const databaseURL = read(options.databaseURL);
  if (!/^sqlite:.+/.test(databaseURL) && !/^postgres(ql)?:\/\//.test(databaseURL)) {
    throw new ConfigError(`DATABASE_URL must be sqlite:<file path> or postgres://…, got "${databaseURL.replace(/:[^:@/]*@/, ':***@')}"`);
  }
  const keyText = read(options.encryptionKey);
  if (production && !keyText) throw new ConfigError('ENCRYPTION_KEY is required in production (32 random bytes: openssl rand -base64 32)');
  const smtpURL = read(options.smtpURL) || null;
  if (smtpURL && !/^smtps?:\/\//.test(smtpURL)) throw new ConfigError('SMTP_URL must start with smtp:// or smtps://');
  if (production && !smtpURL) throw new ConfigError('SMTP_URL is required in production: the development outbox is not available there');
  // Rule 25: production cookies are Secure and pages send HSTS, both meaningless over http://.
  // TLS may end at a proxy; PUBLIC_URL is the address users see, so that is what must be https.
  if (production && publicURL.protocol !== 'https:') throw new ConfigError(`PUBLIC_URL must start with https:// in production (TLS may end at a proxy; PUBLIC_URL is the address users see), got "${publicURL.origin}"`);

  // Read before the development key is written, so a refused configuration leaves no file behind.
  const logLevel = readLogLevel(read(options.logLevel));
  const trustedProxies = parseTrustedProxies(read(options.trustedProxies));

  return {
    production,
    sms: readSMSProvider(read, production),
    smsAllowedCountryCodes: parseAllowedCountryCodes(read(options.smsAllowedCountryCodes)),
    port,
    host: read(options.host),
    publicURL,
    databaseURL,
    databasePoolSize: read(options.databasePoolSize),
    encryptionKey: keyText ? parseKey(keyText) : developmentKey(databaseURL),
    previousEncryptionKeys: read(options.previousEncryptionKeys)
      .split(',')
      .filter((text) => text.trim() !== '')
      .map((text) => parseKey(text, 'Each of PREVIOUS_ENCRYPTION_KEYS')),
    encryptionKeyIsDevelopmentDefault: !keyText,
    developmentKeyPath: keyText ? null : developmentKeyPath(databaseURL),
    smtpURL,
    mailFrom: read(options.mailFrom),
    signupEnabled: read(options.signupEnabled),
    trustedProxies,
    issuer: read(options.issuer),
    logLevel,
    redis: readRedis(read),
    metricsToken: readMetricsToken(read),
    policy: {
      sessionIdleMs: read(options.sessionIdleMinutes) * MINUTE,
      sessionAbsoluteMs: read(options.sessionAbsoluteHours) * HOUR,
      sessionTouchIntervalMs: MINUTE,
      recentAuthenticationMs: read(options.recentAuthMinutes) * MINUTE,
      passwordMinLength: 8,
      passwordMaxLength: 128,
      failedPasswordsPerEmail: read(options.failedPasswordsPerEmail),
      failedPasswordsPerIP: read(options.failedPasswordsPerIP),
      failedPasswordWindowMs: read(options.failedPasswordWindowMinutes) * MINUTE,
      resetLinkMs: 24 * HOUR,
      invitationLinkMs: 7 * 24 * HOUR,
      reportLinkMs: 7 * 24 * HOUR,
      emailVerificationLinkMs: 7 * 24 * HOUR,
      verificationEmailsPerUserPerHour: 3,
      disableLinkMs: 24 * HOUR,
      signupsPerIPPerHour: read(options.signupsPerIPPerHour),
      passwordResetsPerEmailPerHour: read(options.passwordResetsPerEmailPerHour),
      passwordResetsPerIPPerHour: read(options.passwordResetsPerIPPerHour),
      invitationsPerAccountPerHour: read(options.invitationsPerAccountPerHour),
      invitationsPerIPPerHour: read(options.invitationsPerIPPerHour),
      loginChallengeMs: 10 * MINUTE,
      wrongCodesPerChallenge: 5,
      wrongCodesPerUser: 10,
      wrongCodesWindowMs: 15 * MINUTE,
      secondFactorLockMs: 15 * MINUTE,
      totpEnrollmentMs: read(options.totpEnrollmentMinutes) * MINUTE,
      smsCodeMs: read(options.smsCodeMinutes) * MINUTE,
      smsCodeAttempts: 5,
      smsResendCooldownMs: read(options.smsResendSeconds) * 1000,
      smsCapWindowMs: HOUR,
      smsPerNumberPerWindow: read(options.smsPerNumberPerHour),
      smsPerAccountPerWindow: read(options.smsPerAccountPerHour),
      smsPerIPPerWindow: read(options.smsPerIPPerHour),
      passwordHashConcurrency: read(options.passwordHashConcurrency),
      passwordHashQueue: read(options.passwordHashQueue),
      requestsPerMinutePerIP: read(options.requestsPerMinutePerIP),
    },
    delivery: {
      pollMs: read(options.deliveryPollMs),
      leaseMs: read(options.deliveryLeaseSeconds) * 1000,
      maxAttempts: read(options.deliveryMaxAttempts),
      retryBaseMs: read(options.deliveryRetrySeconds) * 1000,
      retryMaxMs: HOUR,
    },
    shutdownDrainMs: read(options.shutdownDrainSeconds) * 1000,
  };
}
