/**
 * The hostile values the fuzzer mixes into otherwise plausible requests: strings that break
 * naive parsers and normalisers, codes in other digit scripts (SECURITY.md rule 33), wrong JSON
 * types, bodies that are too deep or too large, bytes that are not UTF-8, odd media types.
 * None of them contains a pattern the leak check looks for, so an echo cannot be mistaken for
 * a leak.
 */
import fc from 'fast-check';

/** The API's body limit (src/app.ts) and the page forms' (formbody); sizes straddle both. */
export const API_BODY_LIMIT = 64 * 1024;
export const FORM_BODY_LIMIT = 16 * 1024;

export const UNICODE_EDGE_STRINGS = [
  '',
  ' ',
  '\t\n\r',
  '\u0000',
  'a\u0000b',
  '\u200b',
  '\u200c\u200d',
  '\ufeff',
  '\u00a0',
  '\u2028\u2029',
  '\u202e123456',
  '\u202dabc\u202c',
  'مرحبا بالعالم',
  'שלום',
  '\ud800',
  '\udfff',
  'a\ud800b',
  '\udc00\ud800',
  '\ud83d\ude00',
  '\u{10ffff}',
  '\uffff\ufffe',
  'ǅ ß İ ﬀ',
  'A\u030a Å e\u0301',
  'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
  '\u001b[31mred',
  '\r\nSet-Cookie: injected=1',
  '%00%ff',
  '%s%s%n',
  '${7*7}{{7*7}}',
  "' OR '1'='1",
  '"; drop table users; --',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  'null',
  'true',
  '[]',
  '{}',
];

/** Six-"digit" codes that are not six ASCII digits, and near misses (rule 33). */
export const CODE_EDGE_STRINGS = [
  '١٢٣٤٥٦',
  '۱۲۳۴۵۶',
  '१२३४५६',
  '১২৩৪৫৬',
  '๑๒๓๔๕๖',
  '１２３４５６',
  '𝟏𝟐𝟑𝟒𝟓𝟔',
  '12345６',
  '123\u200b456',
  '\u202e654321',
  ' 123456 ',
  '123456\u0000',
  '+123456',
  '-123456',
  '1e5',
  '123456.0',
  '0x1E240',
  '123 456',
  '12345',
  '1234567',
  '000000',
  '999999',
  'abcde-fghij',
  'ABCDE-FGHIJ',
  'abcdefghij',
  '²³⁴⁵⁶⁷',
  'Infinity',
  'NaN',
];

export const EMAIL_EDGE_STRINGS = [
  'a@b',
  '@',
  'a@',
  '@example.com',
  'user@exam\u0000ple.com',
  'ÜSER@EXÄMPLE.COM',
  'user@xn--bcher-kva.example',
  '"quoted local"@example.com',
  'user+tag@example.com',
  ' padded@example.com ',
  'user@[127.0.0.1]',
  'a'.repeat(250) + '@example.com',
  'user@example.com\r\nBcc: other@example.com',
];

export const unicodeEdgeString = fc.constantFrom(...UNICODE_EDGE_STRINGS);
export const codeEdgeString = fc.constantFrom(...CODE_EDGE_STRINGS);
export const emailEdgeString = fc.constantFrom(...EMAIL_EDGE_STRINGS);

/** Strings around the size limits: fields' maxLength, the form limit, the API body limit. */
export const hugeString = fc
  .tuple(fc.constantFrom(129, 255, 1025, FORM_BODY_LIMIT + 1, API_BODY_LIMIT - 200, API_BODY_LIMIT + 1, 3 * API_BODY_LIMIT), fc.constantFrom('x', '€', '\u0000', '9', '\ud83d\ude00'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)));

/** Any string the fuzzer may put where the server expects text. */
export const hostileString = fc.oneof(
  { weight: 4, arbitrary: unicodeEdgeString },
  { weight: 3, arbitrary: codeEdgeString },
  { weight: 2, arbitrary: emailEdgeString },
  { weight: 4, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20, unit: 'grapheme' }) },
  { weight: 1, arbitrary: hugeString },
);

/** A JSON value of the wrong type for any field. */
export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -0, 123456, 1e21, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, 1e308),
  fc.boolean(),
  fc.constant(null),
  fc.constant(['123456']),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 4 }),
  fc.constant({}),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  fc.constant({ $gt: '' }),
  fc.constant({ toString: 'x', valueOf: 1 }),
);

/** Keys that attack object handling rather than validation. */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '', ' ', 'a.b', '$where', '\u0000', 'role', 'admin', 'isAdmin', 'accountId', 'userId', 'state', 'token'];
export const hostileKey = fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ minLength: 1, maxLength: 12 }));

export const JSON_CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8'];
export const ODD_CONTENT_TYPES = [
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/json, text/plain',
  'application/merge-patch+json',
  'application/vnd.api+json',
  'application/problem+json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/xml',
  'application/octet-stream',
  '*/*',
  'json',
  ';',
  '',
];

/** `{"a":{"a":…}}` or `[[[…]]]` nested `depth` levels: recursion in parsers and validators. */
export function deepJSON(depth: number, kind: 'object' | 'array', key = 'a'): string {
  return kind === 'object' ? `${`{"${key}":`.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

export const deepBody = fc
  .tuple(fc.constantFrom(64, 1000, 10_000, 100_000), fc.constantFrom<'object' | 'array'>('object', 'array'), fc.boolean())
  .map(([depth, kind, unterminated]) => {
    const text = deepJSON(depth, kind);
    return Buffer.from(unterminated ? text.slice(0, -Math.floor(depth / 2) - 1) : text);
  });

/** Bytes that are not UTF-8 (or are, but in another encoding) inside otherwise JSON-looking bodies. */
export const invalidUTF8Body: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(
    Buffer.from([0x7b, 0x22, 0x63, 0x6f, 0x64, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // {"code":"\xff\xfe"}
    Buffer.from([0x7b, 0x22, 0xc0, 0x80, 0x22, 0x3a, 0x31, 0x7d]), // overlong NUL as a key
    Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // encoded lone surrogate
    Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d]), // truncated sequence
    Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), // BOM then {}
    Buffer.from('{"email":"a@example.com","password":"x"}', 'utf16le'),
    Buffer.from([0x00, 0x7b, 0x7d]),
    Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  ),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);

/** Percent-encodes a string's UTF-8 bytes (lone surrogates become U+FFFD, as a browser does). */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Already-encoded path or query pieces that are wrong at the byte or encoding level. */
export const RAW_ENCODED_ODDITIES = ['%', '%zz', '%FF', '%C0%AF', '%ED%A0%80', '%00', '%2F', '%2e%2e', '..', '.', '%25', '%u0041', '%E2%80%AE', '+', '%20', ';', '%3B', '%23'];
