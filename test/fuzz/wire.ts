/**
 * Sends a `WireRequest` exactly as generated — raw path bytes, any body, any content type —
 * over node:http (fetch would normalise the path and refuse some bodies), and checks the
 * answer: never a 5xx, never a stack trace or internal detail, API errors in {error, message}.
 */
import { Agent, request as httpRequest } from 'node:http';
import { errorCatalog } from '../../src/errors.ts';
import type { WireRequest } from './request-model.ts';

export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

export function closeAgent(): void {
  agent.destroy();
}

export function send(baseURL: string, request: WireRequest): Promise<WireResponse> {
  const url = new URL(baseURL);
  // Node sends DELETE and GET bodies without a length unless told; say it, as a client would.
  const headers = request.body ? { ...request.headers, 'content-length': String(request.body.length) } : request.headers;
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = httpRequest(
      { agent, host: url.hostname, port: url.port, method: request.method, path: request.path, headers, timeout: 60_000 },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer within 60 s')));
    // A server may answer (413, 400) before it has read the whole body and close the socket:
    // the write then fails, but the answer is what counts.
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    outgoing.end(request.body ?? undefined);
  });
}

/** Text that reveals internals: stack frames, source paths, database and driver messages. */
const LEAK_PATTERNS: RegExp[] = [
  /^\s+at .+/m,
  /\bat (?:async |new )?[\w$.<>]+ \(/,
  /\b(?:Type|Range|Reference|Syntax|Eval|URI|Aggregate|Sqlite|Database)?Error: /,
  /\/src\/|node_modules|\.ts:\d+|file:\/\//,
  /SQLITE_[A-Z]+/,
  /syntax error/i,
  /relation "/,
  /violates .* constraint|duplicate key value|no such (?:table|column)/i,
  /better-sqlite3|kysely|\bpg-protocol\b/i,
  /FST_[A-Z_]+/,
];

const ERROR_CODES = new Set(Object.keys(errorCatalog));

function header(response: WireResponse, name: string): string {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** Everything wrong with an answer; empty when it is fine. */
export function responseProblems(request: WireRequest, response: WireResponse): string[] {
  const problems: string[] = [];
  if (response.status >= 500) problems.push(`answered ${response.status}`);
  if (response.status < 100) problems.push(`answered no valid status (${response.status})`);
  const sent = `${request.path}\n${request.body?.toString('utf8') ?? ''}\n${Object.values(request.headers).join('\n')}`;
  for (const pattern of LEAK_PATTERNS) {
    const match = pattern.exec(response.text);
    // An echo of what the request itself said (an unknown field's name, a form value) is not a leak.
    if (match && !sent.includes(match[0].trim())) problems.push(`the body shows internals: ${JSON.stringify(match[0].slice(0, 80))}`);
  }
  const isAPI = request.path.startsWith('/api/');
  if (isAPI && response.status >= 400 && request.method !== 'HEAD') {
    const type = header(response, 'content-type');
    if (!type.startsWith('application/json')) problems.push(`an API error answered ${type || 'no content type'} instead of JSON`);
    else {
      try {
        const body = JSON.parse(response.text) as Record<string, unknown>;
        const keys = Object.keys(body).sort().join(',');
        if (keys !== 'error,message') problems.push(`an API error body has keys ${keys}, not exactly {error, message}`);
        if (typeof body.error !== 'string' || !ERROR_CODES.has(body.error)) problems.push(`unregistered error code ${JSON.stringify(body.error)}`);
        if (typeof body.message !== 'string' || body.message.length === 0) problems.push('an API error without a message');
        else if (body.message.length > 600) problems.push(`an API error message of ${body.message.length} characters (echoing input?)`);
      } catch {
        problems.push('an API error body that is not JSON');
      }
    }
  }
  return problems;
}
