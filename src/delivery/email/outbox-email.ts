import type { Outbox } from '../outbox.ts';
import type { EmailMessage, EmailSender } from './sender.ts';

export function createOutboxEmailSender(outbox: Outbox): EmailSender {
  return {
    name: 'outbox',
    async sendEmail(message: EmailMessage): Promise<void> {
      outbox.add({ channel: 'email', to: message.to, subject: message.subject, body: message.text });
    },
  };
}
