/**
 * The database as Kysely sees it. Times are integer milliseconds since the epoch and flags are
 * 0/1 integers in both SQLite and PostgreSQL, so one query serves both dialects unchanged.
 */
import type { Generated, Kysely, Selectable } from 'kysely';

export type Role = 'admin' | 'user';
/** How far a session has authenticated (SECURITY.md rule 8). */
export type SessionState = 'password_only' | 'enrollment_required' | 'complete';
export type LinkKind = 'invitation' | 'password_reset' | 'disable_2fa' | 'email_verification';

export interface AccountsTable {
  id: string;
  name: string;
  enforce_2fa: number;
  created_at: number;
}

export interface UsersTable {
  id: string;
  account_id: string;
  email: string;
  name: string;
  role: Role;
  active: number;
  /** Null until an invited user sets a password. */
  password_hash: string | null;
  /** Bumped by every password change; a disable link works only under the version it was sent with. */
  password_version: Generated<number>;
  /** 1 after a "This wasn't me" report: no password login until a reset (migration 013). */
  password_login_blocked: Generated<number>;
  created_at: number;
  last_login_at: number | null;
  /** When the user proved the address (verification link, invitation, reset); null until then. */
  email_verified_at: number | null;
}

export interface SessionsTable {
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  state: SessionState;
  created_at: number;
  last_seen_at: number;
  /** Last password (or code) entry, for the recent-authentication rule. */
  authenticated_at: number;
  /** How the session authenticated, comma-separated in order ('password,totp'): its amr. */
  auth_methods: string;
  ip: string;
  user_agent: string;
  /** The id the sessions list shows (migration 013): never the token or its hash; kept across upgrades. */
  public_id: string | null;
}

/** Why a session was ended by someone other than its holder (reasons.ts); kept until it would have expired. */
export interface RevokedSessionsTable {
  token_hash: string;
  user_id: string;
  reason: string;
  session_created_at: number;
}

export interface LinksTable {
  token_hash: string;
  kind: LinkKind;
  user_id: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
  /** The user's password_version when the link was issued. */
  password_version: Generated<number>;
}

export interface SecurityEventsTable {
  id: string;
  account_id: string;
  type: string;
  at: number;
  actor_user_id: string | null;
  /** "user", "support" or "system": who acted when no user did. */
  actor_kind: string;
  subject_user_id: string | null;
  ip: string | null;
  user_agent: string | null;
  detail: string;
}

export interface RateLimitCountersTable {
  /** A keyed hash naming what is counted (an email, an IP, a user), never the value in clear. */
  key: string;
  window_started_at: number;
  count: number;
}

export interface FactorsTable {
  id: string;
  user_id: string;
  /** A kind from the factor registry (src/factors/registry.ts). */
  kind: string;
  /** AES-256-GCM envelope; associated data binds it to user and factor id. */
  secret_encrypted: string;
  /** Highest accepted TOTP time step (replay guard); null before the first use. */
  last_used_step: number | null;
  /** SMS only: HMAC of the E.164 number (per-number limits); null for other kinds. */
  phone_hash: Generated<string | null>;
  created_at: number;
  confirmed_at: number;
}

export interface TOTPEnrollmentsTable {
  /** Changes with every new secret, so an old enrollment id names nothing. */
  id: string;
  user_id: string;
  secret_encrypted: string;
  created_at: number;
  expires_at: number;
}

export interface LoginChallengesTable {
  id: string;
  session_token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  /** Charged before each check (includes attempts in flight). */
  attempts: number;
  /** Attempts that came back wrong. */
  failed_attempts: number;
  consumed_at: number | null;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  /** HMAC-SHA256 of the normalised code under the hashing key. */
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

/** A phone number waiting for its texted code (PRODUCT.md §2.3 SMS Message). */
export interface SMSEnrollmentsTable {
  /** Changes with every new number, so an earlier number's code names nothing. */
  id: string;
  user_id: string;
  /** AES-256-GCM envelope of the E.164 number; associated data binds it to user and enrollment. */
  phone_encrypted: string;
  /** HMAC of the E.164 number under the hashing key. */
  phone_hash: string;
  created_at: number;
}

export type SMSCodePurpose = 'enrollment' | 'login';

export interface SMSCodesTable {
  /** Changes with every text sent for the subject. */
  id: string;
  user_id: string;
  purpose: SMSCodePurpose;
  /** The enrollment or login challenge the code belongs to. */
  subject_id: string;
  /** HMAC-SHA256 of the code bound to user, purpose and subject; never the code. */
  code_hash: string;
  /** When the last text for this subject went out; 0 after a failed send. */
  sent_at: number;
  expires_at: number;
  /** Tries so far, kept across resends. */
  attempts: number;
  consumed_at: number | null;
}

export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'failed';

/** One message of the delivery queue (migration 007): see src/delivery/queue/. */
export interface DeliveryQueueTable {
  id: string;
  /** 'email', 'sms'; future channels (OIDC back-channel logout, webhooks) add their own. */
  channel: string;
  kind: string;
  user_id: string | null;
  /** AES-256-GCM envelope of the message; null once sent or given up, or when sent at once. */
  payload_encrypted: string | null;
  status: DeliveryStatus;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  enqueued_by: string | null;
  claim_id: string | null;
  lease_until: number | null;
  sent_at: number | null;
  last_error: string | null;
}

/** A known text encrypted under the configured key (migration 007): checked at every start. */
export interface KeyChecksTable {
  name: string;
  value_encrypted: string;
  written_at: number;
}

/** One oidc-provider model instance (code, token, grant, session, interaction), keyed by (model, id). */
export interface OIDCPayloadsTable {
  model: string;
  id: string;
  /** The provider's JSON payload; it holds hashes or references, the provider's own format. */
  payload: string;
  grant_id: string | null;
  /** Sessions only: the uid the provider looks them up by. */
  uid: string | null;
  /** The user (the provider's accountId), so a user's tokens and sessions can be ended at once. */
  account_id: string | null;
  expires_at: number | null;
  /** Set once, by one conditional update: single use across instances (rule 38). */
  consumed_at: number | null;
}

/** An application the operator registered (PRODUCT.md §2.13). */
export interface OIDCClientsTable {
  client_id: string;
  name: string;
  /** The provider's client metadata as JSON; `client_secret` is the SHA-256 of the secret. */
  metadata: string;
  created_at: number;
}

export interface OIDCSigningKeysTable {
  kid: string;
  /** AES-256-GCM envelope of the private JWK; associated data binds it to its kid. */
  private_jwk_encrypted: string;
  created_at: number;
  /** When a newer key replaced it; still published for a while after. */
  retired_at: number | null;
  /** 1 on the key made at first start (unique), null on rotated-in keys. */
  first_key: number | null;
}

/** One registered security key or passkey (PRODUCT.md §2.9). */
export interface WebAuthnCredentialsTable {
  id: string;
  user_id: string;
  /** base64url; unique across all users. */
  credential_id: string;
  /** base64url COSE key. */
  public_key: string;
  /** The signature counter last seen; 0 for authenticators that do not count (synced passkeys). */
  counter: number;
  /** Comma-separated transports the browser reported ('usb,nfc'), for the allow list. */
  transports: string;
  aaguid: string;
  backup_eligible: number;
  backed_up: number;
  user_verified: number;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export type WebAuthnPurpose = 'registration' | 'login' | 'reauthenticate';

/** A challenge handed to the browser: single use, 5 minutes, bound to user and purpose (rule 35). */
export interface WebAuthnChallengesTable {
  id: string;
  user_id: string;
  purpose: WebAuthnPurpose;
  subject_id: string | null;
  challenge_hash: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

/** The allowed-methods policy of an account (PRODUCT.md §2.9); no row = the defaults. */
export interface AccountPoliciesTable {
  account_id: string;
  allowed_methods: string;
  require_phishing_resistant: number;
  updated_at: number;
  /** Staged enforcement (011): 00:00 UTC of "Enforce from" in ms, null = at once. */
  enforce_from: number | null;
  enforce_for: Generated<EnforceFor>;
  /** How far the staged-enforcement e-mails got (see enforcement/staged-notices.ts). */
  notice_stage: Generated<number>;
  notice_cursor: string | null;
  /** Days a trusted browser skips the code (0 = off, at most 90); null: the default, 30. */
  trusted_browser_days: number | null;
}

/** A browser a user trusts after a right code (PRODUCT.md §2.11); the secret is held only as its SHA-256. */
export interface TrustedBrowsersTable {
  id: string;
  user_id: string;
  secret_hash: string;
  factor_kind: string;
  granted_at: number;
  /** Fixed at grant time; use never extends it. */
  expires_at: number;
  last_used_at: number | null;
  user_agent: string;
  ip: string;
}

/** A "This wasn't me" link of a security notice (PRODUCT.md §2.12; migration 013). */
export interface SecurityReportsTable {
  token_hash: string;
  user_id: string;
  /** The factor the notice announced as added: its kind and row id; null for other notices. */
  factor_kind: string | null;
  factor_id: string | null;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

/** A browser a user has completed a login from (migration 013): the hash of its cookie. */
export interface KnownBrowsersTable {
  user_id: string;
  browser_hash: string;
  created_at: number;
  last_login_at: number;
}

export type EnforceFor = 'everyone' | 'admins';

export interface Schema {
  accounts: AccountsTable;
  users: UsersTable;
  sessions: SessionsTable;
  revoked_sessions: RevokedSessionsTable;
  links: LinksTable;
  security_events: SecurityEventsTable;
  rate_limit_counters: RateLimitCountersTable;
  factors: FactorsTable;
  totp_enrollments: TOTPEnrollmentsTable;
  login_challenges: LoginChallengesTable;
  recovery_codes: RecoveryCodesTable;
  sms_enrollments: SMSEnrollmentsTable;
  sms_codes: SMSCodesTable;
  delivery_queue: DeliveryQueueTable;
  key_checks: KeyChecksTable;
  oidc_payloads: OIDCPayloadsTable;
  oidc_clients: OIDCClientsTable;
  oidc_signing_keys: OIDCSigningKeysTable;
  webauthn_credentials: WebAuthnCredentialsTable;
  webauthn_challenges: WebAuthnChallengesTable;
  account_policies: AccountPoliciesTable;
  trusted_browsers: TrustedBrowsersTable;
  security_reports: SecurityReportsTable;
  known_browsers: KnownBrowsersTable;
}

export type Database = Kysely<Schema>;
export type Account = Selectable<AccountsTable>;
export type User = Selectable<UsersTable>;
