import type { Outbox } from '../outbox.ts';
import type { SMSMessage, SMSSender } from './sender.ts';

export function createOutboxSMSSender(outbox: Outbox): SMSSender {
  return {
    name: 'outbox',
    async sendSMS(message: SMSMessage): Promise<void> {
      outbox.add({ channel: 'sms', to: message.to, subject: null, body: message.body });
    },
  };
}
