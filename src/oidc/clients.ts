/**
 * The applications that sign in through Twofold (PRODUCT.md §2.13), registered by the operator
 * with `twofold oidc add-client`. They are first-party: no consent page. A confidential client's
 * secret (256 random bits) is shown once and stored only as its SHA-256 (rule 40); the provider
 * compares the presented secret's hash (provider.ts). Redirect URIs are matched exactly by the
 * provider; here they must be absolute URLs without a fragment, https in production.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import type { Database } from '../storage/schema.ts';

export interface NewClient {
  name: string;
  redirectURIs: readonly string[];
  postLogoutRedirectURIs: readonly string[];
  backchannelLogoutURI: string | null;
  /** A public client (a single-page or native app) has no secret; PKCE alone binds its codes. */
  public: boolean;
  /** Every sign-in to this client needs a second factor (acr `mfa`). */
  require2FA: boolean;
}

export interface ClientSummary {
  clientId: string;
  name: string;
  redirectURIs: string[];
  postLogoutRedirectURIs: string[];
  backchannelLogoutURI: string | null;
  public: boolean;
  require2FA: boolean;
  createdAt: number;
}

export type AddClientOutcome = { ok: true; clientId: string; clientSecret: string | null } | { ok: false; problem: string };

const MAX_NAME_LENGTH = 200;

/** Why a URI cannot be registered, or null when it can. */
export function redirectURIProblem(uri: string, production: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return `"${uri}" is not an absolute URL`;
  }
  if (parsed.hash) return `"${uri}" has a fragment, which redirect URIs may not have`;
  if (parsed.username || parsed.password) return `"${uri}" carries credentials`;
  if (production && parsed.protocol !== 'https:') return `"${uri}" must use https in production`;
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `"${uri}" must be an http(s) URL`;
  return null;
}

export async function addClient(db: Database, clock: Clock, input: NewClient, production: boolean): Promise<AddClientOutcome> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return { ok: false, problem: `--name must be 1 to ${MAX_NAME_LENGTH} characters` };
  if (input.redirectURIs.length === 0) return { ok: false, problem: 'at least one --redirect-uri is required' };
  for (const uri of [...input.redirectURIs, ...input.postLogoutRedirectURIs, ...(input.backchannelLogoutURI ? [input.backchannelLogoutURI] : [])]) {
    const problem = redirectURIProblem(uri, production);
    if (problem) return { ok: false, problem };
  }
  const clientId = randomBytes(16).toString('base64url');
  const clientSecret = input.public ? null : generateToken();
  const metadata = {
    client_id: clientId,
    client_name: name,
    redirect_uris: [...input.redirectURIs],
    post_logout_redirect_uris: [...input.postLogoutRedirectURIs],
    ...(input.backchannelLogoutURI ? { backchannel_logout_uri: input.backchannelLogoutURI, backchannel_logout_session_required: true } : {}),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: clientSecret ? 'client_secret_basic' : 'none',
    ...(clientSecret ? { client_secret: hashToken(clientSecret) } : {}),
    twofold_require_2fa: input.require2FA,
  };
  const now = clock.now();
  await db.insertInto('oidc_clients').values({ client_id: clientId, name, metadata: JSON.stringify(metadata), created_at: now }).execute();
  await recordClientChange(db, clock, { change: 'added', clientId, name });
  return { ok: true, clientId, clientSecret };
}

export async function findClientMetadata(db: Database, clientId: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('oidc_clients').select('metadata').where('client_id', '=', clientId).executeTakeFirst();
  return row ? (JSON.parse(row.metadata) as Record<string, unknown>) : undefined;
}

export async function listClients(db: Database): Promise<ClientSummary[]> {
  const rows = await db.selectFrom('oidc_clients').select(['client_id', 'name', 'metadata', 'created_at']).orderBy('created_at').execute();
  return rows.map((row) => {
    const metadata = JSON.parse(row.metadata) as Record<string, any>;
    return {
      clientId: row.client_id,
      name: row.name,
      redirectURIs: metadata.redirect_uris ?? [],
      postLogoutRedirectURIs: metadata.post_logout_redirect_uris ?? [],
      backchannelLogoutURI: metadata.backchannel_logout_uri ?? null,
      public: metadata.token_endpoint_auth_method === 'none',
      require2FA: metadata.twofold_require_2fa === true,
      createdAt: Number(row.created_at),
    };
  });
}

/** Removes a client and everything issued to it (codes, tokens, grants): its users are signed out of it. */
export async function removeClient(db: Database, clock: Clock, clientId: string): Promise<boolean> {
  const removed = await db.deleteFrom('oidc_clients').where('client_id', '=', clientId).returning('name').executeTakeFirst();
  if (!removed) return false;
  const grants = await db.selectFrom('oidc_payloads').select(['id', 'payload']).where('model', '=', 'Grant').execute();
  const ofClient = grants.filter((row) => (JSON.parse(row.payload) as { clientId?: string }).clientId === clientId).map((row) => row.id);
  for (const grantId of ofClient) {
    await db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
    await db.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('id', '=', grantId).execute();
  }
  await recordClientChange(db, clock, { change: 'removed', clientId, name: removed.name });
  return true;
}

/**
 * `oidc_client_changed`: a client serves every account's users, so the change is written to every
 * account's security log, with the operator (the command line, actor `support`) as actor.
 */
async function recordClientChange(db: Database, clock: Clock, detail: { change: 'added' | 'removed'; clientId: string; name: string }): Promise<void> {
  const accounts = await db.selectFrom('accounts').select('id').execute();
  for (const account of accounts) {
    await recordSecurityEvent(db, clock, { type: 'oidc_client_changed', accountId: account.id, actor: { kind: 'support' }, subjectUserId: null, origin: { ip: null, userAgent: 'twofold oidc command' }, detail });
  }
}
