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

export interface DeliveryLog extends OutboxLog {
  error(fields: Record<string, unknown>, message: string): void;
}

export interface Delivery {
  email: EmailSender;
  sms: SMSSender;
  /** Present only in development with no real provider configured. */
  outbox: Outbox | null;
  close(): void;
}

export function createDelivery(config: Config, clock: Clock, log: DeliveryLog): Delivery {
  const usesOutbox = !config.production && !config.smtpURL;
  const outbox = usesOutbox ? new Outbox(clock, log) : null;
  const smtp = config.smtpURL ? createSMTPEmailSender(config.smtpURL, config.mailFrom) : null;
  const email = smtp ?? createOutboxEmailSender(outbox!);
  // Real SMS providers arrive with the SMS issue; until then texts go to the outbox, and in
  // production (no outbox) there is no SMS factor to offer.
  const sms: SMSSender = outbox
    ? createOutboxSMSSender(outbox)
    : {
        name: 'none',
        sendSMS: async () => {
          throw new Error('No SMS provider is configured');
        },
      };
  return { email, sms, outbox, close: () => smtp?.close() };
}

/** Sends without making the caller wait; a failure is logged (without the body) and not rethrown. */
export function sendEmailInBackground(email: EmailSender, log: DeliveryLog, message: EmailMessage): void {
  email.sendEmail(message).catch((error: unknown) => {
    log.error({ err: error instanceof Error ? error.message : String(error), subject: message.subject }, 'e-mail delivery failed');
  });
}
