/** What every completed login records, whichever step completed it: last login and the security log. */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../storage/schema.ts';
import { recordLogin } from '../users/users.ts';

export async function recordCompletedLogin(db: Database, clock: Clock, who: { userId: string; accountId: string }, methods: string, origin: RequestOrigin): Promise<void> {
  await recordLogin(db, clock, who.userId);
  await recordSecurityEvent(db, clock, { type: 'login_succeeded', accountId: who.accountId, actor: { kind: 'user', userId: who.userId }, subjectUserId: who.userId, origin, detail: { methods } });
}
