/**
 * fast-check arbitraries for whole requests: a plausible request derived from the route's
 * schema, then mutated (wrong types, missing and extra fields, prototype keys, hostile and huge
 * strings), or replaced outright by deep, broken or mistyped bodies; with odd path parameters,
 * floods of query parameters, wrong media types and every authentication context.
 */
import fc from 'fast-check';
import {
  codeEdgeString,
  deepBody,
  emailEdgeString,
  hostileKey,
  hostileString,
  hugeString,
  invalidUTF8Body,
  JSON_CONTENT_TYPES,
  ODD_CONTENT_TYPES,
  RAW_ENCODED_ODDITIES,
  wrongTypeValue,
} from './edge-values.ts';
import type { FormRoute, JSONSchema, Operation, Parameter } from './openapi-operations.ts';
import type { AuthKind, BodySpec, PathPiece, RequestSpec } from './request-model.ts';

const sixDigits = fc.stringMatching(/^[0-9]{6}$/);
const recoveryShaped = fc.stringMatching(/^[a-z0-9]{5}-[a-z0-9]{5}$/);

/** A plausible string for a field, guided by its name and schema. */
function plausibleString(schema: JSONSchema, name: string): fc.Arbitrary<string> {
  const lower = name.toLowerCase();
  if (schema.format === 'email' || lower.includes('email')) {
    return fc.oneof(fc.constantFrom('«adminEmail»', '«memberEmail»'), fc.emailAddress().filter((email) => email.length <= 254));
  }
  if (lower.includes('code')) return fc.oneof(sixDigits, recoveryShaped, fc.constantFrom('«totpCode»', '«recoveryCode»'));
  if (lower.includes('password')) return fc.oneof({ weight: 4, arbitrary: fc.string({ minLength: 8, maxLength: 40 }) }, { weight: 1, arbitrary: fc.constant('«password»') });
  if (lower.includes('phone')) return fc.oneof(fc.constantFrom('+44 7400 123456', '+1 202 555 0143', '+33 6 12 34 56 78', '07400 123456'), fc.stringMatching(/^\+[1-9][0-9]{7,13}$/));
  if (lower === 'id' || lower.endsWith('id')) return fc.oneof(fc.constantFrom('«adminId»', '«memberId»', '«enrollmentId»'), fc.uuid());
  if (lower.includes('token')) return fc.oneof(fc.constantFrom('«inviteToken»', '«resetToken»'), fc.base64String({ minLength: 4, maxLength: 64 }).map((text) => text.replace(/[+/=]/g, '_')));
  if (lower.includes('cursor')) return fc.base64String({ maxLength: 60 });
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? 40, 40));
  return fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(max, 1) });
}

/** A value that satisfies (or nearly satisfies) the schema. */
export function plausibleValue(schema: JSONSchema, name = ''): fc.Arbitrary<unknown> {
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices && choices.length > 0) return fc.oneof(...choices.map((choice) => plausibleValue(choice, name)));
  if (schema.enum && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: schema.minimum ?? 0, max: schema.maximum ?? 1000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? 0, max: schema.maximum ?? 1000, noNaN: true });
    case 'array':
      return fc.array(plausibleValue(schema.items ?? {}, name), { maxLength: 3 });
    case 'object':
      return plausibleObject(schema);
    case 'string':
      return plausibleString(schema, name);
    default:
      return fc.oneof(fc.string({ maxLength: 10 }), fc.integer());
  }
}

function plausibleObject(schema: JSONSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, property] of Object.entries(properties)) shape[key] = plausibleValue(property, key);
  return fc.record(shape, { requiredKeys: (schema.required ?? []).filter((key) => key in properties) });
}

type Mutation =
  | { kind: 'drop'; index: number }
  | { kind: 'add'; key: string; value: unknown }
  | { kind: 'wrong-type'; index: number; value: unknown }
  | { kind: 'hostile'; index: number; value: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), key: hostileKey, value: fc.oneof(fc.string({ maxLength: 10 }), wrongTypeValue, fc.constant({ role: 'admin', polluted: true })) }),
  fc.record({ kind: fc.constant('wrong-type' as const), index: fc.nat(), value: wrongTypeValue }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hostile' as const), index: fc.nat(), value: hostileString }) },
);

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty keeps "__proto__" an own data key, so it reaches the wire as JSON text.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function applyMutations(base: Record<string, unknown>, schemaKeys: string[], mutations: Mutation[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) setOwn(out, key, value);
  for (const change of mutations) {
    const keys = Object.keys(out).length > 0 ? Object.keys(out) : schemaKeys;
    if (change.kind === 'add') {
      setOwn(out, change.key, change.value);
      continue;
    }
    if (keys.length === 0) continue;
    const key = keys[change.index % keys.length]!;
    if (change.kind === 'drop') delete out[key];
    else setOwn(out, key, change.value);
  }
  return out;
}

/** A JSON body for the schema: plausible, mutated, or replaced by something hostile. */
export function bodyFor(schema: JSONSchema | null): fc.Arbitrary<BodySpec> {
  const schemaKeys = Object.keys(schema?.properties ?? {});
  const plausible = schema ? plausibleObject(schema) : fc.constant({} as Record<string, unknown>);
  const json = (value: fc.Arbitrary<unknown>, contentType: fc.Arbitrary<string | null> = fc.constantFrom(...JSON_CONTENT_TYPES)) =>
    fc.record({ kind: fc.constant('json' as const), value, contentType, duplicateKey: fc.constant(null) });
  const raw = (bytes: fc.Arbitrary<Buffer>, contentType: fc.Arbitrary<string | null> = fc.constantFrom(...JSON_CONTENT_TYPES)) => fc.record({ kind: fc.constant('raw' as const), bytes, contentType });
  const mutated = fc.tuple(plausible, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([base, changes]) => applyMutations(base, schemaKeys, changes));
  const hostileBodies: Array<fc.WeightedArbitrary<BodySpec>> = [
    { weight: 1, arbitrary: json(fc.oneof(wrongTypeValue, hostileString)) },
    { weight: 1, arbitrary: raw(deepBody) },
    { weight: 1, arbitrary: raw(invalidUTF8Body) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), value: plausible, contentType: fc.constant('application/json'), duplicateKey: fc.oneof(fc.constantFrom(...(schemaKeys.length > 0 ? schemaKeys : ['a'])), fc.constantFrom('__proto__', 'constructor')) }) },
    { weight: 1, arbitrary: json(plausible, fc.oneof(fc.constantFrom(...ODD_CONTENT_TYPES), fc.constant(null))) },
    { weight: 1, arbitrary: raw(fc.constantFrom(Buffer.alloc(0), Buffer.from(' '), Buffer.from('{'), Buffer.from('{"a":1}garbage'), Buffer.from('\u0000'))) },
    { weight: 1, arbitrary: raw(fc.constantFrom(Buffer.from('{"__proto__":{"isAdmin":true}}'), Buffer.from('{"constructor":{"prototype":{"isAdmin":true}}}'), Buffer.from('{"a":1,"a":2}'))) },
  ];
  if (schema) {
    return fc.oneof({ weight: 3, arbitrary: json(plausible) }, { weight: 8, arbitrary: json(mutated) }, { weight: 1, arbitrary: json(hugeString.map((text) => ({ [schemaKeys[0] ?? 'a']: text }))) }, ...hostileBodies);
  }
  return fc.oneof({ weight: 10, arbitrary: fc.constant<BodySpec>({ kind: 'none' }) }, { weight: 1, arbitrary: json(fc.constant({})) }, ...hostileBodies);
}

function parameterValue(parameter: Parameter): fc.Arbitrary<{ value: string; preEncoded: boolean }> {
  const plain = (arbitrary: fc.Arbitrary<string>) => arbitrary.map((value) => ({ value, preEncoded: false }));
  return fc.oneof(
    { weight: 4, arbitrary: plain(plausibleValue(parameter.schema, parameter.name).map(String)) },
    { weight: 2, arbitrary: plain(fc.constantFrom('«adminId»', '«memberId»', '«inviteToken»', '«resetToken»', '__proto__', 'constructor', 'totp', 'sms', 'recovery')) },
    { weight: 3, arbitrary: plain(fc.oneof(hostileString.filter((text) => text.length < 5000), codeEdgeString, emailEdgeString)) },
    { weight: 1, arbitrary: plain(fc.constantFrom(201, 1000, 5000).map((length) => 'x'.repeat(length))) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_ENCODED_ODDITIES).map((value) => ({ value, preEncoded: true })) },
  );
}

function pathFor(operation: Operation): fc.Arbitrary<PathPiece[]> {
  const pieces = operation.path.split(/(\{[^}]+\})/).filter((piece) => piece.length > 0);
  return fc.tuple(
    ...pieces.map((piece): fc.Arbitrary<PathPiece> => {
      const name = /^\{(.+)\}$/.exec(piece)?.[1];
      if (!name) return fc.constant({ literal: piece });
      const parameter = operation.parameters.find((candidate) => candidate.in === 'path' && candidate.name === name) ?? { name, in: 'path', required: true, schema: { type: 'string' } };
      return parameterValue(parameter);
    }),
  );
}

type QueryItem = { key: string; value: string; preEncoded: boolean };

function queryFor(parameters: Parameter[]): fc.Arbitrary<QueryItem[]> {
  const declared = parameters.filter((parameter) => parameter.in === 'query');
  const known = fc.constantFrom(...(declared.length > 0 ? declared.map((parameter) => parameter.name) : ['q']));
  const item: fc.Arbitrary<QueryItem> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ key: known, value: fc.oneof(fc.string({ maxLength: 20 }), hostileString.filter((text) => text.length < 3000), fc.constantFrom('«adminId»', '«adminEmail»')), preEncoded: fc.constant(false) }) },
    { weight: 2, arbitrary: fc.record({ key: hostileKey, value: fc.string({ maxLength: 10 }), preEncoded: fc.constant(false) }) },
    { weight: 1, arbitrary: fc.record({ key: fc.constantFrom('a', 'cursor', 'cursor[]', 'a[b]', '__proto__[x]', ''), value: fc.constantFrom(...RAW_ENCODED_ODDITIES), preEncoded: fc.constant(true) }) },
  );
  const flood = fc.tuple(fc.constantFrom(100, 1000, 3000), fc.boolean()).map(([count, sameKey]) =>
    Array.from({ length: count }, (_, index): QueryItem => ({ key: sameKey ? (declared[0]?.name ?? 'a') : `p${index}`, value: String(index), preEncoded: false })),
  );
  return fc.oneof({ weight: declared.length > 0 ? 4 : 8, arbitrary: fc.constant<QueryItem[]>([]) }, { weight: 4, arbitrary: fc.array(item, { minLength: 1, maxLength: 8 }) }, { weight: 1, arbitrary: flood });
}

export const authKind: fc.Arbitrary<AuthKind> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<AuthKind>('none') },
  { weight: 4, arbitrary: fc.constant<AuthKind>('complete') },
  { weight: 3, arbitrary: fc.constant<AuthKind>('half') },
  { weight: 1, arbitrary: fc.constant<AuthKind>('garbage') },
  { weight: 1, arbitrary: fc.constant<AuthKind>('complete-cookie') },
);

const noQuery = fc.constant<QueryItem[]>([]);

const originKind = fc.constantFrom<RequestSpec['origin']>('own', 'own', 'none', 'foreign', 'null-same-origin');

const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Record<string, string>>({}) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({ 'x-forwarded-for': '1.2.3.4, not-an-ip' }, { accept: 'text/html' }, { 'user-agent': 'u'.repeat(10_000) }, { 'user-agent': '\u00ff\u00fe' }, { 'x-http-method-override': 'DELETE' }, { 'accept-language': '*;q=x' }) },
);

function methodFor(operation: Operation): fc.Arbitrary<string> {
  const alternatives = operation.method === 'GET' ? ['HEAD'] : [];
  return fc.oneof({ weight: 20, arbitrary: fc.constant(operation.method) }, { weight: 1, arbitrary: fc.constantFrom(...alternatives, 'PUT', 'OPTIONS', 'PATCH') });
}

/** Requests to one OpenAPI operation. */
export function apiRequest(operation: Operation): fc.Arbitrary<RequestSpec> {
  return fc.record({
    route: fc.constant(`${operation.method} ${operation.path}`),
    method: methodFor(operation),
    path: pathFor(operation),
    query: queryFor(operation.parameters),
    body: bodyFor(operation.bodySchema),
    auth: authKind,
    origin: originKind,
    extraHeaders,
  });
}

/** A urlencoded form body with the page's field names, mutated like the JSON bodies. */
function formBody(route: FormRoute): fc.Arbitrary<BodySpec> {
  const fieldValue = (name: string) => fc.oneof({ weight: 3, arbitrary: plausibleString({}, name) }, { weight: 2, arbitrary: hostileString });
  const field = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...route.fields).chain((name) => fieldValue(name).map((value): [string, string] => [name, value])) },
    { weight: 1, arbitrary: fc.tuple(hostileKey, fc.string({ maxLength: 10 })) },
  );
  return fc.record({
    kind: fc.constant('form' as const),
    fields: fc.array(field, { maxLength: 6 }),
    rawTail: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(...RAW_ENCODED_ODDITIES.map((odd) => `&x=${odd}`), '&&&', '&=', '&a', '&a[b]=1&a[c]=2', '&password=%FF%FE') }),
    contentType: fc.oneof({ weight: 10, arbitrary: fc.constant('application/x-www-form-urlencoded') }, { weight: 1, arbitrary: fc.constantFrom('application/x-www-form-urlencoded; charset=latin1', 'text/plain', 'multipart/form-data; boundary=x') }),
    csrf: fc.constantFrom<'valid' | 'missing' | 'wrong'>('valid', 'valid', 'valid', 'valid', 'missing', 'wrong'),
  });
}

/** Requests to one page form (POST), as a browser with our CSRF cookie would send them. */
export function formRequest(route: FormRoute): fc.Arbitrary<RequestSpec> {
  const pieces = route.url.split(/(:\w+)/).filter((piece) => piece.length > 0);
  const path = fc.tuple(
    ...pieces.map((piece): fc.Arbitrary<PathPiece> => (piece.startsWith(':') ? parameterValue({ name: piece.slice(1), in: 'path', required: true, schema: { type: 'string' } }) : fc.constant({ literal: piece }))),
  );
  const hostile = fc.oneof(
    bodyFor({ type: 'object', properties: Object.fromEntries(route.fields.map((name) => [name, { type: 'string' }])) }).map((body): BodySpec => body),
    fc.record({ kind: fc.constant('raw' as const), bytes: fc.oneof(invalidUTF8Body, hugeString.map((text) => Buffer.from(`password=${text}`))), contentType: fc.constant('application/x-www-form-urlencoded') }),
  );
  return fc.record({
    route: fc.constant(`POST ${route.url} (form)`),
    method: fc.constant('POST'),
    path,
    query: fc.oneof({ weight: 6, arbitrary: noQuery }, { weight: 1, arbitrary: fc.array(fc.record({ key: fc.constantFrom<string>('next', 'a', '__proto__'), value: fc.oneof(hostileString.filter((text) => text.length < 2000), fc.constantFrom('//evil.example', 'https://evil.example', '/\\evil.example', 'javascript:alert(1)')), preEncoded: fc.constant<boolean>(false) }), { maxLength: 3 }) }),
    body: fc.oneof({ weight: 6, arbitrary: formBody(route) }, { weight: 1, arbitrary: hostile }),
    auth: fc.constantFrom<AuthKind>('none', 'none', 'complete-cookie', 'half-cookie', 'garbage'),
    origin: fc.constantFrom<RequestSpec['origin']>('own', 'own', 'own', 'none', 'foreign', 'null-same-origin'),
    extraHeaders,
  });
}

/** Page loads (GET) with odd path parameters and query strings (`next=` redirects among them). */
export function pageGetRequest(url: string): fc.Arbitrary<RequestSpec> {
  const pieces = url.split(/(:\w+|\*)/).filter((piece) => piece.length > 0);
  const path = fc.tuple(
    ...pieces.map((piece): fc.Arbitrary<PathPiece> => (piece.startsWith(':') || piece === '*' ? parameterValue({ name: piece.slice(1) || 'token', in: 'path', required: true, schema: { type: 'string' } }) : fc.constant({ literal: piece }))),
  );
  const redirectTargets = fc.constantFrom('//evil.example', 'https://evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/user', '%2F%2Fevil.example', '/\t/evil.example');
  return fc.record({
    route: fc.constant(`GET ${url} (page)`),
    method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD'),
    path,
    query: fc.oneof(noQuery, fc.array(fc.record({ key: fc.constantFrom<string>('next', 'cursor', 'userId', 'type', 'email', '__proto__'), value: fc.oneof(redirectTargets, hostileString.filter((text) => text.length < 2000)), preEncoded: fc.constant<boolean>(false) }), { minLength: 1, maxLength: 4 })),
    body: fc.constant<BodySpec>({ kind: 'none' }),
    auth: fc.constantFrom<AuthKind>('none', 'complete-cookie', 'half-cookie', 'complete', 'garbage'),
    origin: fc.constant<RequestSpec['origin']>('none'),
    extraHeaders,
  });
}

/**
 * Well-formed guesses at the guarded steps — a wrong password for a real address, a wrong
 * code on the half-authenticated session, a wrong password on re-authentication — so the
 * real budgets are spent and their 429 answers are fuzzed too.
 */
export function budgetGuess(): fc.Arbitrary<RequestSpec> {
  const guess = (route: string, auth: AuthKind, value: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<RequestSpec> =>
    value.map((body) => ({
      route: `${route} (guess)`,
      method: 'POST',
      path: [{ literal: `/api/v1${route}` }],
      query: [],
      body: { kind: 'json', value: body, contentType: 'application/json', duplicateKey: null },
      auth,
      origin: 'none',
      extraHeaders: {},
    }));
  const wrongPassword = fc.string({ minLength: 8, maxLength: 40 });
  return fc.oneof(
    { weight: 3, arbitrary: guess('/login', 'none', fc.record({ email: fc.constantFrom('«adminEmail»', '«memberEmail»'), password: wrongPassword })) },
    { weight: 2, arbitrary: guess('/login/verify', 'half', fc.record({ method: fc.constantFrom('totp', 'recovery'), code: fc.oneof(sixDigits, recoveryShaped, codeEdgeString) })) },
    { weight: 2, arbitrary: guess('/me/reauthenticate', 'complete', fc.oneof(fc.record({ password: wrongPassword }), fc.record({ code: fc.oneof(sixDigits, codeEdgeString) }))) },
    { weight: 1, arbitrary: guess('/password/forgot', 'none', fc.record({ email: fc.constant('«adminEmail»') })) },
  );
}
