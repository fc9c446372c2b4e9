/**
 * What a generated request is, before and after it meets the server's state. The arbitraries
 * produce pure data (a `RequestSpec`) that may name real things only through placeholders —
 * the admin's id, a live invitation token, the right TOTP code — because tokens change when
 * the fuzzer logs a context out and the contexts are rebuilt. `materialize` resolves them at
 * send time and encodes the request down to bytes.
 */
import { percentEncode } from './edge-values.ts';

export type AuthKind = 'none' | 'complete' | 'half' | 'garbage' | 'complete-cookie' | 'half-cookie';

/** Real values a request may refer to; resolved when the request is sent. */
export const PLACEHOLDERS = ['«adminId»', '«memberId»', '«adminEmail»', '«memberEmail»', '«password»', '«inviteToken»', '«resetToken»', '«totpCode»', '«recoveryCode»', '«enrollmentId»'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export type PathPiece = { literal: string } | { value: string; preEncoded: boolean };

export type BodySpec =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; contentType: string | null; duplicateKey: string | null }
  | { kind: 'raw'; bytes: Buffer; contentType: string | null }
  | { kind: 'form'; fields: Array<[string, string]>; rawTail: string; contentType: string | null; csrf: 'valid' | 'missing' | 'wrong' };

export interface RequestSpec {
  /** Which generator made it (for the report of what was covered). */
  route: string;
  method: string;
  path: PathPiece[];
  query: Array<{ key: string; value: string; preEncoded: boolean }>;
  body: BodySpec;
  auth: AuthKind;
  origin: 'own' | 'none' | 'foreign' | 'null-same-origin';
  extraHeaders: Record<string, string>;
}

export interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

export interface LiveContext {
  values: Record<Placeholder, string>;
  completeToken: string;
  halfToken: string;
  cookieName: string;
  csrfCookie: string;
  csrfToken: string;
  origin: string;
}

function resolveText(text: string, live: LiveContext): string {
  if (!text.includes('«')) return text;
  let out = text;
  for (const placeholder of PLACEHOLDERS) out = out.replaceAll(placeholder, live.values[placeholder]);
  return out;
}

/** Rebuilds a JSON value with placeholders resolved, keeping own `__proto__` keys as data. */
function resolveValue(value: unknown, live: LiveContext): unknown {
  if (typeof value === 'string') return resolveText(value, live);
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, live));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) Object.defineProperty(out, key, { value: resolveValue(item, live), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

function encodeBody(body: BodySpec, live: LiveContext): { bytes: Buffer | null; contentType: string | null } {
  switch (body.kind) {
    case 'none':
      return { bytes: null, contentType: null };
    case 'raw':
      return { bytes: body.bytes, contentType: body.contentType };
    case 'json': {
      let text = JSON.stringify(resolveValue(body.value, live)) ?? 'null';
      // A repeated key: JSON.parse keeps the last one, so the first copy is the hostile one.
      if (body.duplicateKey !== null && text.startsWith('{')) text = `{${JSON.stringify(body.duplicateKey)}:["duplicate"]${text === '{}' ? '' : ','}${text.slice(1)}`;
      return { bytes: Buffer.from(text, 'utf8'), contentType: body.contentType };
    }
    case 'form': {
      const pairs = body.fields.map(([key, value]) => `${percentEncode(resolveText(key, live))}=${percentEncode(resolveText(value, live))}`);
      if (body.csrf === 'valid') pairs.push(`_csrf=${percentEncode(live.csrfToken)}`);
      if (body.csrf === 'wrong') pairs.push(`_csrf=${percentEncode(live.csrfToken.slice(0, -2) + 'zz')}`);
      return { bytes: Buffer.from(pairs.join('&') + body.rawTail, 'utf8'), contentType: body.contentType };
    }
  }
}

export function materialize(spec: RequestSpec, live: LiveContext): WireRequest {
  const path = spec.path.map((piece) => ('literal' in piece ? piece.literal : piece.preEncoded ? piece.value : percentEncode(resolveText(piece.value, live)))).join('');
  const query = spec.query.map(({ key, value, preEncoded }) => (preEncoded ? `${key}=${value}` : `${percentEncode(resolveText(key, live))}=${percentEncode(resolveText(value, live))}`));
  const headers: Record<string, string> = { ...spec.extraHeaders };
  const cookies: string[] = [];
  if (spec.auth === 'complete') headers.authorization = `Bearer ${live.completeToken}`;
  if (spec.auth === 'half') headers.authorization = `Bearer ${live.halfToken}`;
  if (spec.auth === 'garbage') headers.authorization = 'Bearer 0000000000000000000000000000000000000000000';
  if (spec.auth === 'complete-cookie') cookies.push(`${live.cookieName}=${live.completeToken}`);
  if (spec.auth === 'half-cookie') cookies.push(`${live.cookieName}=${live.halfToken}`);
  if (spec.body.kind === 'form') cookies.push(live.csrfCookie);
  if (cookies.length > 0) headers.cookie = cookies.join('; ');
  if (spec.origin === 'own') headers.origin = live.origin;
  if (spec.origin === 'foreign') headers.origin = 'https://evil.example';
  if (spec.origin === 'null-same-origin') {
    headers.origin = 'null';
    headers['sec-fetch-site'] = 'same-origin';
  }
  const { bytes, contentType } = encodeBody(spec.body, live);
  if (contentType !== null) headers['content-type'] = contentType;
  return { method: spec.method, path: query.length > 0 ? `${path}?${query.join('&')}` : path, headers, body: bytes };
}

/** A short human description for failure reports (bodies are cut). */
export function describeWire(request: WireRequest): string {
  const body = request.body ? request.body.subarray(0, 300).toString('utf8') + (request.body.length > 300 ? `… (${request.body.length} bytes)` : '') : '(no body)';
  const headers = Object.entries(request.headers).map(([key, value]) => `${key}: ${value.slice(0, 120)}`).join('\n  ');
  return `${request.method} ${request.path.slice(0, 400)}${request.path.length > 400 ? `… (${request.path.length} chars)` : ''}\n  ${headers}\n  ${body}`;
}
