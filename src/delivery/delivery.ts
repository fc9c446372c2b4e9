/**
 * Chooses the providers from configuration and puts the durable delivery queue in front of
 * them (issue 13): e-mail is written to the queue in the transaction of the event that causes
 * it and sent by the worker (queue/worker.ts), with retries; a text the user is waiting for is
 * sent at once and recorded in the same table.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Keys } from '../crypto/keys.ts';
import type { Database } from '../storage/schema.ts';
import { createOutboxEmailSender } from './email/outbox-email.ts';
import type { EmailMessage, EmailSender } from './email/sender.ts';
import { createSMTPEmailSender } from './email/smtp-email.ts';
import { Outbox, type OutboxLog } from './outbox.ts';
import { enqueueMessage, markAttemptFailed, markMessageSent, recordImmediateMessage } from './queue/queue-store.ts';
import { DeliveryWorker, type ChannelSender, type DeliveryAttemptOutcome } from './queue/worker.ts';
import { createOutboxSMSSender } from './sms/outbox-sms.ts';
import type { SMSSender } from './sms/sender.ts';
import { createTwilioSMSSender } from './sms/twilio-sms.ts';
import { createWebhookSMSSender } from './sms/webhook-sms.ts';

export interface DeliveryLog extends OutboxLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** What a queued or recorded message is about: fixed words and an id, never its content. */
export interface MessageRecord {
  /** 'invitation', 'password_reset', 'login_code' …: what the message is. */
  kind: string;
  userId: string | null;
}

export interface DeliveryQueue {
  /**
   * Writes an e-mail to the queue with `trx`, the transaction of the event that causes it, so
   * both are kept or neither is. Call `wake()` once that transaction has committed.
   */
  enqueueEmail(trx: Database, message: EmailMessage, record: MessageRecord): Promise<void>;
  /** Writes a message of another channel (`payload` is what its sender needs, stored encrypted) with `trx`. */
  enqueue(trx: Database, channel: string, payload: unknown, record: MessageRecord): Promise<void>;
  /** The sender of a channel queued with `enqueue`; messages of a channel without one wait for a process that has it. */
  addSender(channel: string, sender: ChannelSender): void;
  /** Tells this process's worker to look now (after a commit that enqueued); never waits. */
  wake(): void;
  /**
   * Call once the transaction that enqueued has committed: wakes the worker. With the
   * development outbox behind the queue (nothing there is slow or fails) it also waits for the
   * run, so the message is in the outbox when the request answers, as before the queue; with a
   * real provider it never waits for delivery.
   */
  afterCommit(): Promise<void>;
  /** Delivers everything due and resolves when nothing is left (tests, the command line). */
  drain(): Promise<void>;
  /**
   * Sends at once through `send` (a login text the user is waiting for) and records it: the
   * row carries no body, so the code never reaches the disk. Rethrows the sender's error.
   */
  sendAtOnce(channel: string, record: MessageRecord, send: () => Promise<void>): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface Delivery {
  email: EmailSender;
  /** Null when no SMS provider is configured: the SMS factor is then not offered. */
  sms: SMSSender | null;
  /** Present only in development with no real provider configured. */
  outbox: Outbox | null;
  queue: DeliveryQueue;
  close(): void;
}

export interface DeliveryStorage {
  db: Database;
  keys: Keys;
  /** Counts each attempt's outcome (metrics); channel and outcome are fixed words. */
  observe?: (channel: string, outcome: DeliveryAttemptOutcome) => void;
}

function createSMSSender(config: Config, clock: Clock, outbox: Outbox | null): SMSSender | null {
  switch (config.sms.provider) {
    case 'twilio':
      return createTwilioSMSSender(config.sms);
    case 'webhook':
      return createWebhookSMSSender(config.sms, clock);
    case 'outbox':
      return outbox ? createOutboxSMSSender(outbox) : null;
    case 'none':
      return null;
  }
}

/** Other instances leave a new message this long to the instance that wrote it (and woke at once). */
const HANDOFF_MS = 5_000;

function createQueue(config: Config, clock: Clock, log: DeliveryLog, storage: DeliveryStorage, email: EmailSender, emailIsOutbox: boolean): DeliveryQueue {
  const { db, keys } = storage;
  const observe = storage.observe ?? (() => undefined);
  const settings = { instanceId: randomUUID(), handoffMs: HANDOFF_MS, ...config.delivery };
  const worker = new DeliveryWorker(db, clock, keys, new Map<string, ChannelSender>([['email', (payload) => email.sendEmail(payload as EmailMessage)]]), settings, log, observe);
  return {
    async enqueueEmail(trx, message, record) {
      await enqueueMessage(trx, clock, keys, settings.instanceId, { channel: 'email', kind: record.kind, userId: record.userId, payload: message });
    },
    async enqueue(trx, channel, payload, record) {
      await enqueueMessage(trx, clock, keys, settings.instanceId, { channel, kind: record.kind, userId: record.userId, payload });
    },
    addSender: (channel, sender) => worker.addSender(channel, sender),
    wake: () => worker.wake(),
    afterCommit: async () => (emailIsOutbox ? worker.runNow() : worker.wake()),
    drain: () => worker.drain(),
    async sendAtOnce(channel, record, send) {
      const id = await recordImmediateMessage(db, clock, settings.instanceId, { channel, ...record }, settings.leaseMs);
      const claim = { id, claimId: id };
      try {
        await send();
      } catch (error) {
        // Not retried by the worker: the caller tells the user, who asks again (a code texted
        // late is worse than a fresh one).
        await markAttemptFailed(db, clock, claim, error instanceof Error ? error.message : String(error), null);
        observe(channel, 'failed');
        throw error;
      }
      await markMessageSent(db, clock, claim);
      observe(channel, 'sent');
    },
    start: () => worker.start(),
    stop: () => worker.stop(),
  };
}

export function createDelivery(config: Config, clock: Clock, log: DeliveryLog, storage: DeliveryStorage): Delivery {
  // The outbox serves whichever channel has no real provider, and never in production.
  const usesOutbox = !config.production && (!config.smtpURL || config.sms.provider === 'outbox');
  const outbox = usesOutbox ? new Outbox(clock, log) : null;
  // Half the lease: an SMTP exchange ends (or fails) before another worker could take the message back.
  const smtp = config.smtpURL ? createSMTPEmailSender(config.smtpURL, config.mailFrom, Math.min(30_000, Math.floor(config.delivery.leaseMs / 2))) : null;
  const email = smtp ?? createOutboxEmailSender(outbox!);
  return { email, sms: createSMSSender(config, clock, outbox), outbox, queue: createQueue(config, clock, log, storage, email, smtp === null), close: () => smtp?.close() };
}
