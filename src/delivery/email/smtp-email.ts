/** E-mail over SMTP with nodemailer; SMTP_URL carries host, port, credentials and TLS choice. */
import nodemailer from 'nodemailer';
import type { EmailMessage, EmailSender } from './sender.ts';

export interface SMTPEmailSender extends EmailSender {
  close(): void;
}

export function createSMTPEmailSender(smtpURL: string, from: string): SMTPEmailSender {
  const transport = nodemailer.createTransport(smtpURL);
  return {
    name: 'smtp',
    async sendEmail(message: EmailMessage): Promise<void> {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
    close: () => transport.close(),
  };
}
