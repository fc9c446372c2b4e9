/**
 * Twilio's REST Messages API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP
 * Basic auth (account SID and auth token) and form fields To, From or MessagingServiceSid, Body.
 * Errors come back as JSON {code, message, more_info, status}; we keep the code and status.
 */
import type { SMSProviderConfig } from '../../config.ts';
import { postToProvider } from './http-request.ts';
import type { SMSMessage, SMSSender } from './sender.ts';

type TwilioConfig = Extract<SMSProviderConfig, { provider: 'twilio' }>;

function describeTwilioError(status: number, text: string): string {
  try {
    const parsed = JSON.parse(text) as { code?: number; message?: string };
    // Twilio's message can quote the destination; keep only its error code.
    return `HTTP ${status}, Twilio error ${parsed.code ?? 'unknown'}`;
  } catch {
    return `HTTP ${status}`;
  }
}

export function createTwilioSMSSender(config: TwilioConfig): SMSSender {
  const url = `${config.apiBaseURL}/2010-04-01/Accounts/${encodeURIComponent(config.accountSID)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${config.accountSID}:${config.authToken}`).toString('base64')}`;
  return {
    name: 'twilio',
    async sendSMS(message: SMSMessage): Promise<void> {
      const form = new URLSearchParams({ To: message.to, Body: message.body });
      if (config.messagingServiceSID) form.set('MessagingServiceSid', config.messagingServiceSID);
      else form.set('From', config.from!);
      await postToProvider(
        { provider: 'twilio', url, headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString(), timeoutMs: config.timeoutMs },
        describeTwilioError,
      );
    },
  };
}
