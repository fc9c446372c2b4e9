/**
 * Delivery status for people (issue 17): whether the e-mails that let a user in — their
 * invitation, a password reset, the admin's disable link, the sign-up's verification — are
 * queued, sent or failed, read from the durable delivery queue (src/delivery/queue/). The newest
 * message of each kind only. Nothing of a message's content is read: the payload (which holds
 * the link) stays sealed, and is erased anyway once a message is sent or given up.
 */
import type { Database, DeliveryStatus } from '../storage/schema.ts';

/** The queue kinds an administrator (and support) can follow, in the order they are shown. */
export const PERSON_DELIVERY_KINDS = ['invitation', 'email_verification', 'password_reset', 'disable_link'] as const;
export type PersonDeliveryKind = (typeof PERSON_DELIVERY_KINDS)[number];

export interface PersonDelivery {
  kind: PersonDeliveryKind;
  /** 'sending' while an instance holds it; a message waiting for a retry is 'queued' with attempts > 0. */
  status: DeliveryStatus;
  attempts: number;
  queuedAt: number;
  sentAt: number | null;
  /** A failed message: about when its last try ran (it was due then). A queued retry: when the next runs. */
  lastTryAt: number | null;
  nextTryAt: number | null;
  /** The provider's last refusal ("451 Try again later"); never any of the message. */
  lastError: string | null;
}

export async function listPersonDeliveries(db: Database, userId: string): Promise<PersonDelivery[]> {
  const rows = await db
    .selectFrom('delivery_queue')
    .select(['kind', 'status', 'attempts', 'created_at', 'sent_at', 'next_attempt_at', 'last_error'])
    .where('user_id', '=', userId)
    .where('channel', '=', 'email')
    .where('kind', 'in', [...PERSON_DELIVERY_KINDS])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const newest = new Map<string, (typeof rows)[number]>();
  for (const row of rows) if (!newest.has(row.kind)) newest.set(row.kind, row);
  return PERSON_DELIVERY_KINDS.flatMap((kind) => {
    const row = newest.get(kind);
    if (!row) return [];
    const failed = row.status === 'failed';
    return [
      {
        kind,
        status: row.status,
        attempts: Number(row.attempts),
        queuedAt: Number(row.created_at),
        sentAt: row.sent_at === null ? null : Number(row.sent_at),
        lastTryAt: failed ? Number(row.next_attempt_at) : null,
        nextTryAt: row.status === 'queued' ? Number(row.next_attempt_at) : null,
        lastError: row.last_error,
      },
    ];
  });
}

export const deliveryKindNames: Record<PersonDeliveryKind, string> = {
  invitation: 'Invitation',
  email_verification: 'Email verification',
  password_reset: 'Password reset',
  disable_link: 'Link to disable 2FA',
};

/** One line for people: "sent 2026-12-06 05:40 UTC", "failed after 5 tries (…)". */
export function describeDelivery(delivery: PersonDelivery): string {
  const at = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  switch (delivery.status) {
    case 'sent':
      return `sent ${at(delivery.sentAt ?? delivery.queuedAt)}`;
    case 'failed':
      return `failed after ${delivery.attempts} ${delivery.attempts === 1 ? 'try' : 'tries'}, last ${at(delivery.lastTryAt ?? delivery.queuedAt)}${delivery.lastError ? ` (${delivery.lastError})` : ''}`;
    case 'sending':
      return `sending (queued ${at(delivery.queuedAt)})`;
    default:
      return delivery.attempts > 0
        ? `queued, ${delivery.attempts} failed ${delivery.attempts === 1 ? 'try' : 'tries'} so far, next ${at(delivery.nextTryAt ?? delivery.queuedAt)}${delivery.lastError ? ` (${delivery.lastError})` : ''}`
        : `queued ${at(delivery.queuedAt)}`;
  }
}
