/**
 * The security log (PRODUCT.md §2.8). Events are written with the same database handle (or
 * transaction) as the change they record, so a change is never left unrecorded. Details never
 * hold a password, secret, code, token or full phone number (SECURITY.md rule 30).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Database } from '../storage/schema.ts';

export const securityEventTypes = [
  'login_succeeded',
  'login_failed',
  'second_factor_failed',
  'second_factor_locked',
  'factor_enrolled',
  'factor_removed',
  'recovery_code_used',
  'recovery_codes_regenerated',
  'enforcement_changed',
  'policy_changed',
  'disable_link_sent',
  'disable_link_used',
  'support_reset',
  'password_reset',
  'user_invited',
  'role_changed',
  'user_deactivated',
  'sms_refused',
  'session_revoked',
  'suspicious_activity_reported',
  'oidc_client_changed',
  'trusted_browser_added',
  'trusted_browser_removed',
] as const;

export type SecurityEventType = (typeof securityEventTypes)[number];

export function isSecurityEventType(value: string): value is SecurityEventType {
  return (securityEventTypes as readonly string[]).includes(value);
}

/** Where a request came from, as recorded beside each event. */
export interface RequestOrigin {
  ip: string | null;
  userAgent: string | null;
}

export interface SecurityEventInput {
  type: SecurityEventType;
  accountId: string;
  actor: { kind: 'user'; userId: string } | { kind: 'support' } | { kind: 'system' };
  subjectUserId: string | null;
  origin: RequestOrigin;
  detail?: Record<string, string | number | boolean | null>;
}

export async function recordSecurityEvent(db: Database, clock: Clock, event: SecurityEventInput): Promise<void> {
  await db
    .insertInto('security_events')
    .values({
      id: randomUUID(),
      account_id: event.accountId,
      type: event.type,
      at: clock.now(),
      actor_user_id: event.actor.kind === 'user' ? event.actor.userId : null,
      actor_kind: event.actor.kind,
      subject_user_id: event.subjectUserId,
      ip: event.origin.ip,
      user_agent: event.origin.userAgent ? event.origin.userAgent.slice(0, 512) : null,
      detail: JSON.stringify(event.detail ?? {}),
    })
    .execute();
}

/**
 * Writes an event that records no change (a refused attempt) once the current answer has gone
 * out, rather than before it: the password step must do the same work before answering whether
 * or not the email has an account (SECURITY.md rule 31), and only known users have a log to
 * write to. setImmediate runs after the reply is flushed; a crash in that moment loses the event,
 * which records a refusal, never a change. A failed write is logged, never thrown.
 */
export function recordSecurityEventAfterAnswer(db: Database, clock: Clock, log: { error(fields: Record<string, unknown>, message: string): void }, event: SecurityEventInput): void {
  const at = clock.now();
  const atAnswer: Clock = { now: () => at };
  setImmediate(() => {
    recordSecurityEvent(db, atAnswer, event).catch((error: unknown) => {
      log.error({ err: error instanceof Error ? error.message : String(error), type: event.type }, 'security event not recorded');
    });
  });
}
