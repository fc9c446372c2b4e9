/** E-mail over SMTP with nodemailer; SMTP_URL carries host, port, credentials and TLS choice. */
import type { Transporter } from 'nodemailer';
import type { EmailMessage, EmailSender } from './sender.ts';

export interface SMTPEmailSender extends EmailSender {
  close(): void;
}

/**
 * `timeoutMs` bounds every wait on the server (connect, greeting, each reply). The delivery
 * queue keeps it below its claim lease: a send still running when the lease lapses could be
 * taken over and sent twice.
 *
 * nodemailer is loaded at the first message, not at start (~0.3 MB of code a server that has
 * nothing to send never needs; in the compiled build it is a chunk of its own).
 */
export function createSMTPEmailSender(smtpURL: string, from: string, timeoutMs = 30_000): SMTPEmailSender {
  let transport: Promise<Transporter> | null = null;
  const connect = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport({ url: smtpURL, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs })));
  return {
    name: 'smtp',
    async sendEmail(message: EmailMessage): Promise<void> {
      await (await connect()).sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
    close: () => void transport?.then((opened) => opened.close(), () => undefined),
  };
}
