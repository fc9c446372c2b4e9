/**
 * A generic webhook: each text is a JSON POST {id, to, body, createdAt} to the operator's URL,
 * signed so the receiver can check it came from us and is fresh:
 *   X-Twofold-Timestamp: <unix seconds>
 *   X-Twofold-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 * The receiver recomputes the HMAC over the raw body, compares in constant time, and refuses
 * timestamps older than a few minutes (replay). The id lets it drop a retried duplicate.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { SMSProviderConfig } from '../../config.ts';
import { postToProvider } from './http-request.ts';
import type { SMSMessage, SMSSender } from './sender.ts';

type WebhookConfig = Extract<SMSProviderConfig, { provider: 'webhook' }>;

export function signWebhookBody(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

export function createWebhookSMSSender(config: WebhookConfig, clock: Clock): SMSSender {
  return {
    name: 'webhook',
    async sendSMS(message: SMSMessage): Promise<void> {
      const now = clock.now();
      const body = JSON.stringify({ id: randomUUID(), to: message.to, body: message.body, createdAt: new Date(now).toISOString() });
      const timestamp = Math.floor(now / 1000);
      await postToProvider(
        {
          provider: 'webhook',
          url: config.url,
          headers: { 'content-type': 'application/json', 'x-twofold-timestamp': String(timestamp), 'x-twofold-signature': signWebhookBody(config.secret, timestamp, body) },
          body,
          timeoutMs: config.timeoutMs,
        },
        (status) => `HTTP ${status}`,
      );
    },
  };
}
