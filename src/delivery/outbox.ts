/**
 * The development outbox (PRODUCT.md §5, §6): e-mails and texts are kept in memory — the newest
 * 500, never in the database, so codes and phone numbers in them never end up at rest — shown
 * at /dev/outbox and GET /api/v1/dev/outbox, and printed to the log. It exists only while no
 * real provider is configured and the server is not in production mode.
 */
import type { Clock } from '../clock.ts';

export interface OutboxMessage {
  channel: 'email' | 'sms';
  to: string;
  subject: string | null;
  body: string;
  createdAt: string;
}

export interface OutboxLog {
  info(fields: Record<string, unknown>, message: string): void;
}

export class Outbox {
  private readonly messages: OutboxMessage[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly log: OutboxLog,
    private readonly capacity = 500,
  ) {}

  add(message: Omit<OutboxMessage, 'createdAt'>): void {
    const stored: OutboxMessage = { ...message, createdAt: new Date(this.clock.now()).toISOString() };
    this.messages.unshift(stored);
    if (this.messages.length > this.capacity) this.messages.length = this.capacity;
    // The outbox is the development delivery channel itself, so the message is printed whole;
    // the `outbox` field lets log scanners tell these lines apart.
    this.log.info({ outbox: true, channel: stored.channel, to: stored.to, subject: stored.subject, body: stored.body }, `development outbox: ${stored.channel} to ${stored.to}`);
  }

  /** Newest first. */
  list(): OutboxMessage[] {
    return [...this.messages];
  }
}
