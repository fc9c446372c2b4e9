/**
 * One place turns every failure into an answer: registered errors keep their code; the errors
 * the domain throws (LimitsUnavailableError) get theirs here; Fastify's own client errors
 * (schema, JSON syntax, media type, size) become 4xx with a message that says what is wrong;
 * anything else is logged and answered as a plain 500 without internals. Pages get the same
 * information as a small HTML page.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errorCatalog, HttpError, type ErrorCode } from '../../errors.ts';
import { LimitsUnavailableError } from '../../limits/limit-counters.ts';
import { NAME_PATTERN } from '../api/schemas.ts';
import { isAPIRequest } from '../request-origin.ts';
import { renderErrorPage } from '../views/error-page.ts';

interface Answer {
  code: ErrorCode;
  message: string;
  retryAfterSeconds?: number;
}

/** The errors the domain throws, as the answers they get (the domain returns every other outcome). */
function describeDomainError(error: unknown): Answer | null {
  if (error instanceof LimitsUnavailableError) {
    // The limits cannot be checked: refused (fail closed), and the client may try again shortly.
    return { code: 'limits_unavailable', message: errorCatalog.limits_unavailable.message, retryAfterSeconds: error.retryAfterSeconds };
  }
  return null;
}

function describeClientError(error: FastifyError): Answer | null {
  if (error.validation) {
    const first = error.validation[0];
    const where = error.validationContext ?? 'request';
    const path = first?.instancePath ? `${where}${first.instancePath.replace(/\//g, '.')}` : where;
    let detail = first?.message ?? 'is not valid';
    if (first?.keyword === 'pattern' && (first.params as { pattern?: string }).pattern === NAME_PATTERN) detail = 'must not be blank or contain control characters';
    if (first?.keyword === 'additionalProperties') detail = `has an unknown field "${String((first.params as { additionalProperty?: string }).additionalProperty)}"`;
    return { code: 'invalid_request', message: `The request is not valid: ${path} ${detail}.` };
  }
  if (/forbidden prototype property|constructor property/i.test(error.message)) {
    return { code: 'invalid_request', message: 'The request is not valid: the body has a forbidden key (__proto__ or constructor).' };
  }
  if (error.code?.startsWith('FST_CSRF_')) return { code: 'csrf_rejected', message: errorCatalog.csrf_rejected.message };
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload_too_large', message: errorCatalog.payload_too_large.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type', message: errorCatalog.unsupported_media_type.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'invalid_request', message: 'The request body is empty; send a JSON object.' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'invalid_request', message: 'The request body is not valid JSON.' };
  }
  if (error.statusCode === 429) return { code: 'rate_limited', message: errorCatalog.rate_limited.message };
  if (error instanceof SyntaxError || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
    // JSON syntax errors, bad content length and the like: the client's fault, never a 500.
    return { code: 'invalid_request', message: `The request is not valid: ${error.message.replace(/\s+at .*/s, '').slice(0, 200)}` };
  }
  return null;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, answer: Answer): FastifyReply {
  const status = errorCatalog[answer.code].status;
  if (answer.retryAfterSeconds !== undefined) reply.header('retry-after', String(answer.retryAfterSeconds));
  reply.header('cache-control', 'no-store');
  if (isAPIRequest(request)) return reply.code(status).type('application/json; charset=utf-8').send({ error: answer.code, message: answer.message });
  // (?? null: requests Fastify refuses before routing are not decorated with a session.)
  return reply.code(status).type('text/html; charset=utf-8').send(renderErrorPage(status, answer.message, (request.session ?? null) !== null));
}

/**
 * Fastify's `frameworkErrors`: a URL that does not decode, or a path parameter longer than
 * maxParamLength, is refused before routing and would otherwise skip the error handler and
 * answer in Fastify's own shape, with its internal code and the raw path echoed back.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // No route takes a parameter that long (ids and tokens are at most 128 characters): nothing is named.
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') sendError(request, reply, { code: 'not_found', message: errorCatalog.not_found.message });
  else sendError(request, reply, { code: 'invalid_request', message: 'The request is not valid: the URL cannot be decoded.' });
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser cannot read (headers or URL over
 * the size limit, a malformed request line) get the {error, message} shape too, then the
 * connection closes, as Node's own handler does.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode = error.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'invalid_request';
  const status = errorCatalog[code].status;
  const body = JSON.stringify({ error: code, message: code === 'invalid_request' ? 'The request could not be read.' : errorCatalog[code].message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

export const errorsPlugin = fp(async function errorsPlugin(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) {
      return sendError(request, reply, { code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds });
    }
    const domain = describeDomainError(error);
    if (domain) return sendError(request, reply, domain);
    const client = describeClientError(error);
    if (client) {
      if (error.statusCode === 429) {
        const retry = reply.getHeader('retry-after');
        return sendError(request, reply, { ...client, retryAfterSeconds: retry ? Number(retry) : 60 });
      }
      return sendError(request, reply, client);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(request, reply, { code: 'internal_error', message: errorCatalog.internal_error.message });
  });

  app.setNotFoundHandler((request, reply) => sendError(request, reply, { code: 'not_found', message: errorCatalog.not_found.message }));

  // No path or query value needs a NUL, and PostgreSQL text cannot hold one: a NUL reaching a
  // query there fails as a 500 (ids, e-mail and user filters, page parameters alike).
  // A callback hook, not an async one: it runs on every request and has nothing to wait for.
  app.addHook('onRequest', (request, _reply, done) => {
    done(/%00|\0/i.test(request.url) ? new HttpError('invalid_request', { variant: 'url_contains_nul' }) : undefined);
  });
});
