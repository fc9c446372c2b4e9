/**
 * SMS provider adapters against a local HTTP server started by the test, which checks each
 * request exactly as the provider documents it and answers with the provider's own error shapes.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { SMSDeliveryError } from '../../src/delivery/sms/sender.ts';
import { createTwilioSMSSender } from '../../src/delivery/sms/twilio-sms.ts';
import { createWebhookSMSSender } from '../../src/delivery/sms/webhook-sms.ts';

interface Captured {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Responder = (request: Captured, response: ServerResponse) => void;

async function startProvider(): Promise<{ url: string; requests: Captured[]; respond: (responder: Responder) => void; close(): Promise<void> }> {
  const requests: Captured[] = [];
  let responder: Responder = (_request, response) => response.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SM123","status":"queued"}');
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const captured = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(captured);
      responder(captured, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    respond: (next) => (responder = next),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const ACCOUNT_SID = `AC${'a1'.repeat(16)}`;

describe('Twilio SMS adapter', () => {
  let provider: Awaited<ReturnType<typeof startProvider>>;
  before(async () => {
    provider = await startProvider();
  });
  after(async () => {
    await provider.close();
  });
  beforeEach(() => {
    provider.requests.length = 0;
    provider.respond((_request, response) => response.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SM123","status":"queued"}'));
  });

  const sender = () => createTwilioSMSSender({ provider: 'twilio', accountSID: ACCOUNT_SID, authToken: 'token-secret', from: '+14155550100', messagingServiceSID: null, apiBaseURL: provider.url, timeoutMs: 2000 });

  it('posts the Messages API form with Basic auth, To, From and Body', async () => {
    await sender().sendSMS({ to: '+14155550123', body: 'Your Twofold code is 123456' });
    assert.equal(provider.requests.length, 1);
    const request = provider.requests[0]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    assert.equal(request.headers.authorization, `Basic ${Buffer.from(`${ACCOUNT_SID}:token-secret`).toString('base64')}`);
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    const form = new URLSearchParams(request.body);
    assert.equal(form.get('To'), '+14155550123');
    assert.equal(form.get('From'), '+14155550100');
    assert.equal(form.get('Body'), 'Your Twofold code is 123456');
  });

  it('uses MessagingServiceSid instead of From when configured', async () => {
    const withService = createTwilioSMSSender({ provider: 'twilio', accountSID: ACCOUNT_SID, authToken: 't', from: null, messagingServiceSID: 'MG123', apiBaseURL: provider.url, timeoutMs: 2000 });
    await withService.sendSMS({ to: '+14155550123', body: 'x' });
    const form = new URLSearchParams(provider.requests[0]!.body);
    assert.equal(form.get('MessagingServiceSid'), 'MG123');
    assert.equal(form.get('From'), null);
  });

  it('reports bad credentials (401, Twilio error 20003) once, without retrying and without the text', async () => {
    provider.respond((_r, response) => response.writeHead(401, { 'content-type': 'application/json' }).end('{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}'));
    await assert.rejects(sender().sendSMS({ to: '+14155550123', body: 'code 654321' }), (error: unknown) => {
      assert.ok(error instanceof SMSDeliveryError);
      assert.match(error.message, /HTTP 401, Twilio error 20003/);
      assert.doesNotMatch(error.message, /654321|\+1415/);
      return true;
    });
    assert.equal(provider.requests.length, 1);
  });

  it('reports an invalid destination (400, Twilio error 21211) without retrying', async () => {
    provider.respond((_r, response) => response.writeHead(400, { 'content-type': 'application/json' }).end('{"code":21211,"message":"The \'To\' number +14155550123 is not a valid phone number.","status":400}'));
    await assert.rejects(sender().sendSMS({ to: '+14155550123', body: 'x' }), (error: unknown) => error instanceof SMSDeliveryError && /21211/.test(error.message) && !/\+1415/.test(error.message));
    assert.equal(provider.requests.length, 1);
  });

  it('retries 429 and 503 answers and succeeds when the provider recovers', async () => {
    let calls = 0;
    provider.respond((_r, response) => {
      calls += 1;
      if (calls === 1) return response.writeHead(429, { 'content-type': 'application/json' }).end('{"code":20429,"message":"Too Many Requests","status":429}');
      if (calls === 2) return response.writeHead(503).end();
      return response.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SM1"}');
    });
    await sender().sendSMS({ to: '+14155550123', body: 'x' });
    assert.equal(provider.requests.length, 3);
  });

  it('gives up after three attempts on a provider that stays unavailable', async () => {
    provider.respond((_r, response) => response.writeHead(503).end());
    await assert.rejects(sender().sendSMS({ to: '+14155550123', body: 'x' }), SMSDeliveryError);
    assert.equal(provider.requests.length, 3);
  });

  it('does not retry a 500 or a timeout, where the text may already have gone out', async () => {
    provider.respond((_r, response) => response.writeHead(500).end());
    await assert.rejects(sender().sendSMS({ to: '+14155550123', body: 'x' }), SMSDeliveryError);
    assert.equal(provider.requests.length, 1);
    provider.requests.length = 0;
    provider.respond(() => undefined); // never answers
    const slow = createTwilioSMSSender({ provider: 'twilio', accountSID: ACCOUNT_SID, authToken: 't', from: '+14155550100', messagingServiceSID: null, apiBaseURL: provider.url, timeoutMs: 300 });
    await assert.rejects(slow.sendSMS({ to: '+14155550123', body: 'x' }), (error: unknown) => error instanceof SMSDeliveryError && /no answer within 300 ms/.test(error.message));
    assert.equal(provider.requests.length, 1);
  });

  it('retries a refused connection', async () => {
    const closed = createTwilioSMSSender({ provider: 'twilio', accountSID: ACCOUNT_SID, authToken: 't', from: '+14155550100', messagingServiceSID: null, apiBaseURL: 'http://127.0.0.1:9', timeoutMs: 1000 });
    await assert.rejects(closed.sendSMS({ to: '+14155550123', body: 'x' }), (error: unknown) => error instanceof SMSDeliveryError && /connection failed/.test(error.message));
  });
});

describe('webhook SMS adapter', () => {
  let provider: Awaited<ReturnType<typeof startProvider>>;
  const secret = 's'.repeat(40);
  before(async () => {
    provider = await startProvider();
  });
  after(async () => {
    await provider.close();
  });

  it('posts signed JSON that a receiver can verify with the shared secret', async () => {
    provider.respond((_r, response) => response.writeHead(204).end());
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 12, 0, 0));
    await createWebhookSMSSender({ provider: 'webhook', url: `${provider.url}/sms`, secret, timeoutMs: 2000 }, clock).sendSMS({ to: '+447400123456', body: 'Your code is 111222' });
    const request = provider.requests.at(-1)!;
    assert.equal(request.url, '/sms');
    assert.equal(request.headers['content-type'], 'application/json');
    const payload = JSON.parse(request.body);
    assert.equal(payload.to, '+447400123456');
    assert.equal(payload.body, 'Your code is 111222');
    assert.match(payload.id, /^[0-9a-f-]{36}$/);
    const timestamp = request.headers['x-twofold-timestamp'];
    assert.equal(timestamp, String(Date.UTC(2026, 10, 29, 12, 0, 0) / 1000));
    // Verify as a receiver would: HMAC over "<timestamp>.<raw body>", constant-time compare.
    const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`);
    const given = Buffer.from(String(request.headers['x-twofold-signature']));
    assert.ok(given.length === expected.length && timingSafeEqual(given, expected));
    const tampered = createHmac('sha256', secret).update(`${timestamp}.${request.body.replace('111222', '999999')}`).digest('hex');
    assert.notEqual(`v1=${tampered}`, request.headers['x-twofold-signature']);
  });

  it('reports a refusal by the receiver as a delivery error', async () => {
    provider.respond((_r, response) => response.writeHead(403).end('forbidden'));
    await assert.rejects(createWebhookSMSSender({ provider: 'webhook', url: provider.url, secret, timeoutMs: 2000 }, new ManualClock()).sendSMS({ to: '+447400123456', body: 'x' }), (error: unknown) => error instanceof SMSDeliveryError && /webhook: HTTP 403/.test(error.message));
  });
});

describe('SMS provider configuration', () => {
  const key = Buffer.alloc(32, 1).toString('base64');
  it('needs a well-formed account SID, a token and a sender for Twilio', () => {
    assert.throws(() => loadConfig({ ENCRYPTION_KEY: key, SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'nope' }), ConfigError);
    assert.throws(() => loadConfig({ ENCRYPTION_KEY: key, SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: 't' }), /TWILIO_FROM/);
    const config = loadConfig({ ENCRYPTION_KEY: key, SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: 't', TWILIO_FROM: '+14155550100' });
    assert.equal(config.sms.provider, 'twilio');
  });

  it('needs a URL and a long secret for the webhook, and refuses the outbox in production', () => {
    assert.throws(() => loadConfig({ ENCRYPTION_KEY: key, SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: 'http://x', SMS_WEBHOOK_SECRET: 'short' }), /at least 32/);
    assert.throws(() => loadConfig({ ENCRYPTION_KEY: key, NODE_ENV: 'production', PUBLIC_URL: 'https://twofold.example', SMTP_URL: 'smtp://x', SMS_PROVIDER: 'outbox' }), /not available in production/);
    assert.equal(loadConfig({ ENCRYPTION_KEY: key, NODE_ENV: 'production', PUBLIC_URL: 'https://twofold.example', SMTP_URL: 'smtp://x' }).sms.provider, 'none');
    assert.throws(() => loadConfig({ ENCRYPTION_KEY: key, SMS_PROVIDER: 'carrier-pigeon' }), /SMS_PROVIDER must be/);
  });
});
