/**
 * The new-browser login notice (PRODUCT.md §2.12, issue 16): a completed login from a browser the
 * user has not logged in from before e-mails the user, with the "This wasn't me" link.
 *
 * A browser is recognised by a long-lived random cookie (256 bits; http/known-browser.ts sets
 * it), of which each user's `known_browsers` rows keep only the SHA-256. A user with no known
 * browser yet — their first login, or their first since this feature arrived — is not told: there
 * is nothing to compare with, and a notice on every account's first login would teach users to
 * ignore it. The insert of the new row decides, so concurrent logins from one new browser send
 * one notice.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { hashToken } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { newBrowserLoginEmail } from '../notices/email-texts.ts';
import { queueSecurityNotice } from '../notices/security-notice.ts';
import { describeUserAgent } from '../users/user-agent.ts';

export interface BrowserLoginUser {
  userId: string;
  email: string;
  name: string;
}

/** Records a completed login from the browser holding `browserToken`; answers whether the user was e-mailed. */
export async function noteBrowserLogin(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'delivery'>, user: BrowserLoginUser, browserToken: string, origin: RequestOrigin, options: { announce: boolean } = { announce: true }): Promise<boolean> {
  const browserHash = hashToken(browserToken);
  const now = deps.clock.now();
  const known = await deps.db.updateTable('known_browsers').set({ last_login_at: now }).where('user_id', '=', user.userId).where('browser_hash', '=', browserHash).returning('user_id').executeTakeFirst();
  if (known) return false;
  const noticed = await deps.db.transaction().execute(async (trx) => {
    const earlier = await trx.selectFrom('known_browsers').select('browser_hash').where('user_id', '=', user.userId).executeTakeFirst();
    const inserted = await trx
      .insertInto('known_browsers')
      .values({ user_id: user.userId, browser_hash: browserHash, created_at: now, last_login_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'browser_hash']).doNothing())
      .returning('user_id')
      .executeTakeFirst();
    if (!inserted || !earlier || !options.announce) return false;
    const text = newBrowserLoginEmail({ name: user.name, browser: describeUserAgent(origin.userAgent).label, atMs: now, origin });
    await queueSecurityNotice(deps, trx, { to: user, kind: 'new_browser_login', text });
    return true;
  });
  if (noticed) await deps.delivery.queue.afterCommit();
  return noticed;
}
