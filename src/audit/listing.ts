/**
 * Reading an account's security log: newest first, keyset pagination on (at, id), filters by
 * subject user and event type. Always scoped to one account (tenancy).
 */
import type { Database } from '../storage/schema.ts';
import type { SecurityEventType } from './events.ts';

export interface SecurityEventView {
  id: string;
  type: string;
  at: string;
  actor: { kind: string; userId: string | null; email: string | null };
  subject: { userId: string | null; email: string | null };
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown>;
}

export interface EventPageQuery {
  cursor: string | null;
  userId: string | null;
  type: SecurityEventType | null;
  limit: number;
}

export type EventPage = { ok: true; events: SecurityEventView[]; nextCursor: string | null } | { ok: false; reason: 'bad_cursor' };

function encodeCursor(at: number, id: string): string {
  return Buffer.from(`${at}:${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { at: number; id: string } | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const match = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? { at: Number(match[1]), id: match[2]! } : null;
}

export async function listSecurityEvents(db: Database, accountId: string, query: EventPageQuery): Promise<EventPage> {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  if (query.cursor && !after) return { ok: false, reason: 'bad_cursor' };
  let select = db
    .selectFrom('security_events as e')
    .leftJoin('users as actor', 'actor.id', 'e.actor_user_id')
    .leftJoin('users as subject', 'subject.id', 'e.subject_user_id')
    .select(['e.id', 'e.type', 'e.at', 'e.actor_kind', 'e.actor_user_id', 'actor.email as actor_email', 'e.subject_user_id', 'subject.email as subject_email', 'e.ip', 'e.user_agent', 'e.detail'])
    .where('e.account_id', '=', accountId);
  if (after) select = select.where((eb) => eb.or([eb('e.at', '<', after.at), eb.and([eb('e.at', '=', after.at), eb('e.id', '<', after.id)])]));
  if (query.userId) select = select.where((eb) => eb.or([eb('e.subject_user_id', '=', query.userId), eb('e.actor_user_id', '=', query.userId)]));
  if (query.type) select = select.where('e.type', '=', query.type);
  const rows = await select.orderBy('e.at', 'desc').orderBy('e.id', 'desc').limit(query.limit + 1).execute();
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    ok: true,
    events: page.map((row) => ({
      id: row.id,
      type: row.type,
      at: new Date(Number(row.at)).toISOString(),
      actor: { kind: row.actor_kind, userId: row.actor_user_id, email: row.actor_email },
      subject: { userId: row.subject_user_id, email: row.subject_email },
      ip: row.ip,
      userAgent: row.user_agent,
      detail: JSON.parse(row.detail) as Record<string, unknown>,
    })),
    nextCursor: rows.length > query.limit && last ? encodeCursor(Number(last.at), last.id) : null,
  };
}

/** CSV (RFC 4180) of events; cells that a spreadsheet would run as formulas are defused. */
export function securityEventsToCSV(events: SecurityEventView[]): string {
  const header = ['id', 'type', 'at', 'actor_kind', 'actor_email', 'subject_email', 'ip', 'user_agent', 'detail'];
  const cell = (value: string | null): string => {
    let text = value ?? '';
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = events.map((e) => [e.id, e.type, e.at, e.actor.kind, e.actor.email, e.subject.email, e.ip, e.userAgent, JSON.stringify(e.detail)].map(cell).join(','));
  return [header.join(','), ...lines].join('\r\n') + '\r\n';
}
