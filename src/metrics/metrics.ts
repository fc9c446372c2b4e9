/**
 * Prometheus metrics, one registry per app (never prom-client's global one: tests build many
 * apps in one process, and each must count only its own traffic).
 *
 * Labels are closed vocabularies (route patterns, outcomes, reasons, methods): never an email,
 * IP, user id, token or code (SECURITY.md rule 30), which also keeps the series count bounded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type LoginOutcome = 'complete' | 'second_factor_required' | 'enrollment_required' | 'refused' | 'locked' | 'busy';
export type SecondFactorOutcome = 'success' | 'wrong' | 'malformed' | 'locked' | 'expired';
export type SMSSendOutcome = 'sent' | 'failed';
/** second_factor: the per-user wrong-code lock; login_challenge: a login ended by its fifth wrong code. */
export type LockoutKind = 'second_factor' | 'login_challenge';
/** sent; retry (failed, will be tried again); failed (given up). */
export type DeliveryOutcome = 'sent' | 'retry' | 'failed';
/** The delivery queue's states (storage/schema.ts DeliveryStatus). */
const DELIVERY_STATUSES = ['queued', 'sending', 'sent', 'failed'] as const;
/** Channels the queue carries today; a new channel is added here, keeping the label closed. */
const DELIVERY_CHANNELS = ['email', 'sms', 'backchannel_logout'] as const;

export interface DeliveryQueueCount {
  channel: string;
  status: string;
  count: number;
}

export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status_class'>;
  loginPassword(outcome: LoginOutcome): void;
  secondFactor(method: string, outcome: SecondFactorOutcome): void;
  smsSend(outcome: SMSSendOutcome): void;
  smsRefused(reason: string): void;
  lockout(kind: LockoutKind): void;
  deliveryAttempt(channel: string, outcome: DeliveryOutcome): void;
  /** Where the queue gauge reads its numbers at each scrape (the database). */
  countDeliveryQueueWith(count: () => Promise<DeliveryQueueCount[]>): void;
}

/** `withDefaults` adds process metrics (RSS, CPU, event-loop lag); off when nobody can scrape them, as they cost an event-loop monitor. */
export function createMetrics(options: { withDefaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.withDefaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'twofold_' });

  const httpRequestDuration = new Histogram({
    name: 'twofold_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const logins = new Counter({
    name: 'twofold_login_password_step_total',
    help: 'Password steps of a login, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const secondFactors = new Counter({
    name: 'twofold_second_factor_checks_total',
    help: 'Second-factor codes checked (login, re-authentication, disabling), by method and outcome',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const smsSends = new Counter({
    name: 'twofold_sms_sends_total',
    help: 'Text messages handed to the SMS provider, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const smsRefusals = new Counter({
    name: 'twofold_sms_refusals_total',
    help: 'Text messages refused before sending (caps, cooldown, country), by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const lockouts = new Counter({
    name: 'twofold_lockouts_total',
    help: 'Locks set after too many wrong attempts, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

  const deliveryAttempts = new Counter({
    name: 'twofold_delivery_attempts_total',
    help: 'Attempts to deliver a queued or immediate message, by channel and outcome (sent, retry, failed)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  let countQueue: (() => Promise<DeliveryQueueCount[]>) | null = null;
  new Gauge({
    name: 'twofold_delivery_queue_messages',
    help: 'Messages in the delivery queue (shared by every instance), by channel and status',
    labelNames: ['channel', 'status'] as const,
    registers: [registry],
    async collect() {
      if (!countQueue) return;
      const counts = await countQueue();
      for (const channel of DELIVERY_CHANNELS) {
        for (const status of DELIVERY_STATUSES) {
          this.set({ channel, status }, counts.find((c) => c.channel === channel && c.status === status)?.count ?? 0);
        }
      }
    },
  });
  const closedChannel = (channel: string) => ((DELIVERY_CHANNELS as readonly string[]).includes(channel) ? channel : 'other');

  return {
    registry,
    httpRequestDuration,
    loginPassword: (outcome) => logins.inc({ outcome }),
    secondFactor: (method, outcome) => secondFactors.inc({ method, outcome }),
    smsSend: (outcome) => smsSends.inc({ outcome }),
    smsRefused: (reason) => smsRefusals.inc({ reason }),
    lockout: (kind) => lockouts.inc({ kind }),
    deliveryAttempt: (channel, outcome) => deliveryAttempts.inc({ channel: closedChannel(channel), outcome }),
    countDeliveryQueueWith: (count) => {
      countQueue = count;
    },
  };
}
