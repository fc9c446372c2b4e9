/**
 * Queuing a security notice (PRODUCT.md §2.8, §2.12): every e-mail that tells a user something
 * happened to their account's security goes through `queueSecurityNotice`, which ends it with a
 * fresh "This wasn't me" link — in this one place, so no notice can be queued without one.
 *
 * The link's token is 256 random bits, kept only as its SHA-256 (rule 29), valid once and for
 * 7 days, bound to the user and — for a notice announcing a new factor — to that factor's row,
 * so "Secure my account" removes exactly the factor the notice was about (reports/report.ts acts
 * on it). It is written in the caller's transaction with the notice: both are kept or neither.
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import type { DeliveryQueue } from '../delivery/delivery.ts';
import type { Database } from '../storage/schema.ts';
import { withReportLink, type EmailText } from './email-texts.ts';

/** Where the report links live: the token is the last path segment (PRODUCT.md §6 "Links"). */
export const REPORT_PATH = '/security/report/';

export interface SecurityNoticeDeps {
  clock: Clock;
  config: Pick<Config, 'publicURL' | 'policy'>;
  delivery: { queue: Pick<DeliveryQueue, 'enqueueEmail'> };
}

export interface SecurityNotice {
  to: { userId: string; email: string; name: string };
  /** What the message is, for the queue's record ('factor_enrolled', 'new_browser_login', …). */
  kind: string;
  text: EmailText;
  /** The kind of factor the notice announces as added; the report removes that very one if it is still there. */
  addedFactorKind?: string;
}

export function buildReportURL(publicURL: URL, token: string): string {
  return new URL(`${publicURL.pathname.replace(/\/$/, '')}${REPORT_PATH}${token}`, publicURL).toString();
}

/**
 * The row of the factor just added: a factor kind keeps one `factors` row per user, replaced
 * (under a new id) by each enrollment; security keys are one `webauthn_credentials` row each,
 * the newest being the one just registered.
 */
async function findAddedFactorId(trx: Database, userId: string, kind: string): Promise<string | null> {
  if (kind === 'webauthn') {
    const key = await trx.selectFrom('webauthn_credentials').select('id').where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
    return key?.id ?? null;
  }
  const factor = await trx.selectFrom('factors').select('id').where('user_id', '=', userId).where('kind', '=', kind).executeTakeFirst();
  return factor?.id ?? null;
}

export async function queueSecurityNotice(deps: SecurityNoticeDeps, trx: Database, notice: SecurityNotice): Promise<void> {
  const token = generateToken();
  const now = deps.clock.now();
  const factorId = notice.addedFactorKind ? await findAddedFactorId(trx, notice.to.userId, notice.addedFactorKind) : null;
  await trx
    .insertInto('security_reports')
    .values({
      token_hash: hashToken(token),
      user_id: notice.to.userId,
      factor_kind: factorId ? notice.addedFactorKind! : null,
      factor_id: factorId,
      created_at: now,
      expires_at: now + deps.config.policy.reportLinkMs,
      consumed_at: null,
    })
    .execute();
  const text = withReportLink(notice.text, buildReportURL(deps.config.publicURL, token));
  await deps.delivery.queue.enqueueEmail(trx, { to: notice.to.email, ...text }, { kind: notice.kind, userId: notice.to.userId });
}
