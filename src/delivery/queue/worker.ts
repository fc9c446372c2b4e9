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

const BATCH = 20;

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
    for (const message of claimed) await this.deliver(message);
    return claimed.length;
  }

  private async deliver(message: ClaimedMessage): Promise<void> {
    const fields = { deliveryId: message.id, channel: message.channel, kind: message.kind, attempt: message.attempt };
    const send = this.senders.get(message.channel);
    if (message.unreadable !== null) {
      await this.recordFailure(message, message.unreadable);
      return;
    }
    if (message.payload === null || !send) {
      // A message sent at once whose sender died mid-send (nothing was kept to resend), or a
      // channel this version does not know: nothing can ever deliver it.
      const reason = message.payload === null ? 'the process sending it stopped before it finished' : `no sender for channel ${message.channel}`;
      await markAttemptFailed(this.db, this.clock, message, reason, null);
      this.observe(message.channel, 'failed');
      this.log.error({ ...fields, err: reason }, 'message given up');
      return;
    }
    try {
      await send(message.payload);
    } catch (error) {
      // The error is the provider's (status, refusal); it never carries the body.
      await this.recordFailure(message, describeError(error));
      return;
    }
    if (!(await markMessageSent(this.db, this.clock, message))) {
      this.log.warn(fields, 'message sent after its claim lapsed; another worker may send it too');
    }
    this.observe(message.channel, 'sent');
  }

  /** A failed try: again after the backoff, or given up after the last one. */
  private async recordFailure(message: ClaimedMessage, err: string): Promise<void> {
    const last = message.attempt >= this.settings.maxAttempts;
    await markAttemptFailed(this.db, this.clock, message, err, last ? null : retryDelayMs(this.settings, message.attempt));
    this.observe(message.channel, last ? 'failed' : 'retry');
    this.log.error({ deliveryId: message.id, channel: message.channel, kind: message.kind, attempt: message.attempt, err }, last ? 'message given up after its last try' : 'message not delivered; it will be tried again');
  }
}
