/**
 * One provider request with a timeout and a small, safe retry policy. Retried: connection
 * errors before an answer (refused, reset), 429 and 503 — answers that say nothing was sent.
 * Not retried: timeouts (the provider may have sent it already; a duplicate text is worse than
 * asking the user to try again), other 4xx (our request is wrong) and other 5xx.
 */
import { SMSDeliveryError } from './sender.ts';

export interface ProviderRequest {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

const RETRY_DELAYS_MS = [200, 800];

async function attempt(request: ProviderRequest): Promise<Response> {
  try {
    return await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(request.timeoutMs), redirect: 'error' });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') throw new SMSDeliveryError(`${request.provider}: no answer within ${request.timeoutMs} ms`, false);
    const cause = error instanceof Error && error.cause instanceof Error ? (error.cause as NodeJS.ErrnoException).code ?? error.cause.message : String(error);
    throw new SMSDeliveryError(`${request.provider}: connection failed (${cause})`, true);
  }
}

/** Returns the provider's answer text on a 2xx; throws SMSDeliveryError otherwise. */
export async function postToProvider(request: ProviderRequest, describeError: (status: number, text: string) => string): Promise<string> {
  for (let round = 0; ; round += 1) {
    let failure: SMSDeliveryError;
    try {
      const response = await attempt(request);
      const text = await response.text();
      if (response.ok) return text;
      failure = new SMSDeliveryError(`${request.provider}: ${describeError(response.status, text)}`, response.status === 429 || response.status === 503);
    } catch (error) {
      if (!(error instanceof SMSDeliveryError)) throw error;
      failure = error;
    }
    const delay = RETRY_DELAYS_MS[round];
    if (!failure.retryable || delay === undefined) throw failure;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
