/**
 * Chooses the providers from configuration and sends mail in the background where the answer
 * must not depend on it (forgot-password must answer alike whether or not the email exists).
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { createOutboxEmailSender } from './email/outbox-email.ts';
import type { EmailMessage, EmailSender } from './email/sender.ts';
import { createSMTPEmailSender } from './email/smtp-email.ts';
import { Outbox, type OutboxLog } from './outbox.ts';
import { createOutboxSMSSender } from './sms/outbox-sms.ts';
import type { SMSSender } from './sms/sender.ts';
import { createTwilioSMSSender } from './sms/twilio-sms.ts';
import { createWebhookSMSSender } from './sms/webhook-sms.ts';

export interface DeliveryLog extends OutboxLog {
  error(fields: Record<string, unknown>, message: string): void;
}

export interface Delivery {
  email: EmailSender;
  /** Null when no SMS provider is configured: the SMS factor is then not offered. */
  sms: SMSSender | null;
  /** Present only in development with no real provider configured. */
  outbox: Outbox | null;
  close(): void;
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

export function createDelivery(config: Config, clock: Clock, log: DeliveryLog): Delivery {
  // The outbox serves whichever channel has no real provider, and never in production.
  const usesOutbox = !config.production && (!config.smtpURL || config.sms.provider === 'outbox');
  const outbox = usesOutbox ? new Outbox(clock, log) : null;
  const smtp = config.smtpURL ? createSMTPEmailSender(config.smtpURL, config.mailFrom) : null;
  const email = smtp ?? createOutboxEmailSender(outbox!);
  return { email, sms: createSMSSender(config, clock, outbox), outbox, close: () => smtp?.close() };
}

/**
 * Sends without making the caller wait; a failure is logged (without the body) and not
 * rethrown. The returned promise settles when delivery has ended either way, for callers that
 * must not exit first (the command line).
 */
export function sendEmailInBackground(email: EmailSender, log: DeliveryLog, message: EmailMessage): Promise<void> {
  return email.sendEmail(message).catch((error: unknown) => {
    log.error({ err: error instanceof Error ? error.message : String(error), subject: message.subject }, 'e-mail delivery failed');
  });
}
