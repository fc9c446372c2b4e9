/**
 * Single-use e-mailed links: invitations, password resets and (later) 2FA disable links
 * (SECURITY.md rules 6, 21-23). The token is 256 random bits, stored only as a SHA-256 hash,
 * and is the last path segment of a URL built from PUBLIC_URL alone — never from request
 * headers. Opening a link (peek) changes nothing; using it is one conditional update, so two
 * concurrent uses cannot both succeed. A newer link of the same kind voids the older ones.
 */
import type { Clock } from '../clock.ts';
import { generateToken, hashToken, isWellFormedToken } from '../crypto/tokens.ts';
import type { Database, LinkKind } from '../storage/schema.ts';
import { lockUser } from '../storage/user-lock.ts';

export type { LinkKind };

export const linkPaths: Record<LinkKind, string> = {
  invitation: '/invitations/',
  password_reset: '/password/reset/',
  disable_2fa: '/2fa/disable/',
  email_verification: '/email/verify/',
};

export function buildLinkURL(publicURL: URL, kind: LinkKind, token: string): string {
  return new URL(`${publicURL.pathname.replace(/\/$/, '')}${linkPaths[kind]}${token}`, publicURL).toString();
}

/**
 * Issues a new link and voids every earlier unused link of the same kind for the user. Runs in
 * the caller's transaction, locked on the user: two concurrent requests would otherwise both void
 * the links they see and both insert, leaving two usable links ("newest only", rules 6, 21).
 */
export async function issueLink(db: Database, clock: Clock, kind: LinkKind, userId: string, lifetimeMs: number): Promise<string> {
  await lockUser(db, userId);
  const token = generateToken();
  const now = clock.now();
  await db.updateTable('links').set({ consumed_at: now }).where('user_id', '=', userId).where('kind', '=', kind).where('consumed_at', 'is', null).execute();
  await db
    .insertInto('links')
    .values({
      token_hash: hashToken(token),
      kind,
      user_id: userId,
      created_at: now,
      expires_at: now + lifetimeMs,
      consumed_at: null,
      // The password the link was sent under (consumeLinkUnderSamePassword).
      password_version: db.selectFrom('users').select('password_version').where('id', '=', userId),
    })
    .execute();
  return token;
}

/** For the GET of a link: is it usable, and for whom? Consumes nothing (mail scanners open links). */
export async function peekLink(db: Database, clock: Clock, kind: LinkKind, token: string): Promise<{ userId: string } | null> {
  if (!isWellFormedToken(token)) return null;
  const row = await db
    .selectFrom('links')
    .select('user_id')
    .where('token_hash', '=', hashToken(token))
    .where('kind', '=', kind)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', clock.now())
    .executeTakeFirst();
  return row ? { userId: row.user_id } : null;
}

/** Uses a link: one conditional write; expired, used and unknown tokens all answer null. */
export async function consumeLink(db: Database, clock: Clock, kind: LinkKind, token: string): Promise<{ userId: string } | null> {
  return consumeLinkWhere(db, clock, kind, token, { samePassword: false });
}

/**
 * Uses a link only if the user's password is still the one it was sent under (issue 13): the
 * disable link acts with "the user's own password", and a password chosen later — say through a
 * reset by whoever reads the mailbox — is not that. One conditional write, like consumeLink.
 */
export async function consumeLinkUnderSamePassword(db: Database, clock: Clock, kind: LinkKind, token: string): Promise<{ userId: string } | null> {
  return consumeLinkWhere(db, clock, kind, token, { samePassword: true });
}

async function consumeLinkWhere(db: Database, clock: Clock, kind: LinkKind, token: string, condition: { samePassword: boolean }): Promise<{ userId: string } | null> {
  if (!isWellFormedToken(token)) return null;
  const now = clock.now();
  const row = await db
    .updateTable('links')
    .set({ consumed_at: now })
    .where('token_hash', '=', hashToken(token))
    .where('kind', '=', kind)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .$if(condition.samePassword, (query) => query.where('password_version', '=', (eb) => eb.selectFrom('users').select('users.password_version').whereRef('users.id', '=', 'links.user_id')))
    .returning('user_id')
    .executeTakeFirst();
  return row ? { userId: row.user_id } : null;
}

/** Voids every outstanding link of a kind for a user (for example, re-enrolling voids disable links). */
export async function voidLinks(db: Database, clock: Clock, kind: LinkKind, userId: string): Promise<void> {
  await db.updateTable('links').set({ consumed_at: clock.now() }).where('user_id', '=', userId).where('kind', '=', kind).where('consumed_at', 'is', null).execute();
}
