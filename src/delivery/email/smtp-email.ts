/** E-mail over SMTP with nodemailer; SMTP_URL carries host, port, credentials and TLS choice. */
import nodemailer from 'nodemailer';
import type { EmailMessage, EmailSender } from './sender.ts';

export interface SMTPEmailSender extends EmailSender {
  close(): void;
}

/**
 * `timeoutMs` bounds every wait on the server (connect, greeting, each reply). The delivery
 * queue keeps it below its claim lease: a send still running when the lease lapses could be
 * taken over and sent twice.
 */
export function createSMTPEmailSender(smtpURL: string, from: string, timeoutMs = 30_000): SMTPEmailSender {
  const transport = nodemailer.createTransport({ url: smtpURL, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
  return {
    name: 'smtp',
    async sendEmail(message: EmailMessage): Promise<void> {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
    close: () => transport.close(),
  };
}
