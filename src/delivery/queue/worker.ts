/**
 * The worker that empties the delivery queue: it claims due messages, hands each to its
 * channel's sender, and records the outcome — sent, a retry after an exponential backoff, or
 * failed once the tries are spent. Every instance runs one; the conditional claim makes them
 * send each message once between them.
 *
 * It polls every `pollMs` (small: a queue that waits is a user who waits) and is woken at once
 * when this process enqueues, so a message written by a request normally leaves within
 * milliseconds of its transaction's commit.
 */
import type { Clock } from '../../clock.ts';
import type { Keys } from '../../crypto/keys.ts';
import type { Database } from '../../storage/schema.ts';
import { claimDueMessages, markAttemptFailed, markMessageSent, type ClaimedMessage } from './queue-store.ts';

/** Sends one message of a channel; throws when the provider did not take it. */
export type ChannelSender = (payload: unknown) => Promise<void>;

export type DeliveryAttemptOutcome = 'sent' | 'retry' | 'failed';

export interface WorkerSettings {
  instanceId: string;
  pollMs: number;
  leaseMs: number;
  handoffMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface WorkerLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const BATCH = 100;

/**
 * Sent messages are marked in one transaction per batch rather than one commit each: on SQLite
 * every commit is an fsync (~2.4 ms), which made 100,000 enforcement notices take minutes. They
 * are marked at the latest this long after the first of them was sent, so a slow provider never
 * keeps a sent message unmarked until its lease lapses (which would let another instance send it
 * again).
 */
const MARK_SENT_WITHIN_MS = 1000;

/** 1st retry after `base`, then doubling, never longer than `max`. */
export function retryDelayMs(settings: Pick<WorkerSettings, 'retryBaseMs' | 'retryMaxMs'>, attempt: number): number {
  return Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, attempt - 1));
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private wokenWhileRunning = false;
  private started = false;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly keys: Keys,
    /** Per channel; a sender may be added later (`addSender`), e.g. once the OIDC signing key is loaded. */
    private readonly senders: Map<string, ChannelSender>,
    private readonly settings: WorkerSettings,
    private readonly log: WorkerLog,
    private readonly observe: (channel: string, outcome: DeliveryAttemptOutcome) => void = () => undefined,
  ) {}

  /** Delivers `channel` from now on; until a process has its sender, its messages wait in the queue. */
  addSender(channel: string, sender: ChannelSender): void {
    this.senders.set(channel, sender);
  }

  start(): void {
    this.started = true;
    this.wake();
  }

  /** Stops polling and waits for the attempts in flight to be recorded. */
  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Look for due messages now (after this process enqueued one). */
  wake(): void {
    if (!this.started) return;
    if (this.running) {
      this.wokenWhileRunning = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.runUntilIdle().finally(() => {
      this.running = null;
      if (this.started) {
        this.timer = setTimeout(() => this.wake(), this.settings.pollMs);
        this.timer.unref();
      }
    });
  }

  /** Wakes the worker and resolves when that run is over (or drains, when it is not started). */
  async runNow(): Promise<void> {
    if (!this.started) {
      await this.drain().catch((error: unknown) => this.log.warn({ err: describeError(error) }, 'delivery queue not readable; trying again at the next poll'));
      return;
    }
    this.wake();
    await this.running;
  }

  /**
   * Delivers everything due now and resolves when nothing is left (tests, and the command line
   * before it exits). Works whether or not the worker was started.
   */
  async drain(): Promise<void> {
    await this.running;
    while ((await this.deliverBatch()) > 0);
  }

  private async runUntilIdle(): Promise<void> {
    do {
      this.wokenWhileRunning = false;
      try {
        while ((await this.deliverBatch()) > 0 && this.started);
      } catch (error) {
        // The database did not answer: the messages wait in it; the next poll tries again.
        this.log.warn({ err: describeError(error) }, 'delivery queue not readable; trying again at the next poll');
      }
    } while (this.wokenWhileRunning && this.started);
  }

  private async deliverBatch(): Promise<number> {
    const claimed = await claimDueMessages(this.db, this.clock, this.keys, { instanceId: this.settings.instanceId, leaseMs: this.settings.leaseMs, handoffMs: this.settings.handoffMs, limit: BATCH, channels: [...this.senders.keys()] });
    const sent: ClaimedMessage[] = [];
    let firstSentAt = 0;
    for (const message of claimed) {
      if (await this.deliver(message)) {
        if (sent.length === 0) firstSentAt = Date.now();
        sent.push(message);
      }
      if (sent.length > 0 && Date.now() - firstSentAt >= MARK_SENT_WITHIN_MS) await this.markSent(sent.splice(0));
    }
    await this.markSent(sent);
    return claimed.length;
  }

  /** Marks `messages` sent in one transaction (a crash before it means they go again: at-least-once). */
  private async markSent(messages: ClaimedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const lapsed = await this.db.transaction().execute(async (trx) => {
      const late: ClaimedMessage[] = [];
      for (const message of messages) if (!(await markMessageSent(trx, this.clock, message))) late.push(message);
      return late;
    });
    for (const message of lapsed) this.log.warn({ deliveryId: message.id, channel: message.channel, kind: message.kind, attempt: message.attempt }, 'message sent after its claim lapsed; another worker may send it too');
    for (const message of messages) this.observe(message.channel, 'sent');
  }

  /** One try of one message; true when the provider took it (the caller marks it sent). */
  private async deliver(message: ClaimedMessage): Promise<boolean> {
    const fields = { deliveryId: message.id, channel: message.channel, kind: message.kind, attempt: message.attempt };
    const send = this.senders.get(message.channel);
    if (message.unreadable !== null) {
      await this.recordFailure(message, message.unreadable);
      return false;
    }
    if (message.payload === null || !send) {
      // A message sent at once whose sender died mid-send (nothing was kept to resend), or a
      // channel this version does not know: nothing can ever deliver it.
      const reason = message.payload === null ? 'the process sending it stopped before it finished' : `no sender for channel ${message.channel}`;
      await markAttemptFailed(this.db, this.clock, message, reason, null);
      this.observe(message.channel, 'failed');
      this.log.error({ ...fields, err: reason }, 'message given up');
      return false;
    }
    try {
      await send(message.payload);
    } catch (error) {
      // The error is the provider's (status, refusal); it never carries the body.
      await this.recordFailure(message, describeError(error));
      return false;
    }
    return true;
  }

  /** A failed try: again after the backoff, or given up after the last one. */
  private async recordFailure(message: ClaimedMessage, err: string): Promise<void> {
    const last = message.attempt >= this.settings.maxAttempts;
    await markAttemptFailed(this.db, this.clock, message, err, last ? null : retryDelayMs(this.settings, message.attempt));
    this.observe(message.channel, last ? 'failed' : 'retry');
    this.log.error({ deliveryId: message.id, channel: message.channel, kind: message.kind, attempt: message.attempt, err }, last ? 'message given up after its last try' : 'message not delivered; it will be tried again');
  }
}
