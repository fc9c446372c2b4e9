/**
 * Helpers for the SMS suites: unique test numbers (PRODUCT.md §6: +1 415 555 01xx and
 * +44 7400 xxxxxx are valid mobiles), codes read from the development outbox as a phone would
 * receive them, enrolling SMS over the API, and a stand-in SMS provider.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { APIClient } from './http.ts';
import type { TestServer } from './server.ts';

/** A fresh UK mobile in E.164, so suites sharing a server never share a number's limit. */
export function uniqueMobile(): string {
  return `+447400${String(randomInt(1_000_000)).padStart(6, '0')}`;
}

/** The texts the outbox holds for `e164`, newest first. */
export function textsTo(server: TestServer, e164: string): string[] {
  return server.outbox.list().filter((m) => m.channel === 'sms' && m.to === e164).map((m) => m.body);
}

/** The code in the newest text to `e164`. */
export function latestSMSCode(server: TestServer, e164: string): string {
  const body = textsTo(server, e164)[0];
  assert.ok(body, `no text to ${e164}`);
  const match = /\b(\d{6})\b/.exec(body);
  assert.ok(match, `no code in "${body}"`);
  return match[1]!;
}

/** A six-digit code that is not `code`. */
export function otherCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

export interface SMSEnrolled {
  phone: string;
  /** The first set when SMS turned 2FA on; empty when the user already had a method and kept their codes. */
  recoveryCodes: string[];
  token: string;
}

/** Enrols `phone` for the session `token` and confirms it with the texted code. */
export async function enrollSMS(server: TestServer, api: APIClient, token: string, phone = uniqueMobile()): Promise<SMSEnrolled> {
  const started = await api.post('/me/2fa/sms', { phone }, { token });
  assert.equal(started.status, 202, started.text);
  const confirmed = await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, phone) }, { token });
  assert.equal(confirmed.status, 200, confirmed.text);
  return { phone, recoveryCodes: confirmed.body.recoveryCodes ?? [], token: confirmed.body.token ?? token };
}

/** A local HTTP server standing in for the SMS webhook; `status` is what it answers next. */
export interface FakeProvider {
  url: string;
  status: number;
  bodies: string[];
  close(): Promise<void>;
}

export async function startFakeProvider(status = 200): Promise<FakeProvider> {
  const provider: FakeProvider = { url: '', status, bodies: [], close: async () => undefined };
  const server: Server = createServer((request, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      provider.bodies.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(provider.status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  provider.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/sms`;
  provider.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return provider;
}
