/**
 * Security headers on every response (SECURITY.md rule 27): CSP without inline scripts,
 * frame-ancestors 'none', no-referrer, HSTS in production, and helmet's other defaults.
 *
 * Helmet decides the headers; they are the same for every response, so they are computed once
 * at start and set as one block per request. (@fastify/helmet rebuilds helmet's middleware —
 * parsing every CSP directive — on each request, which cost more than the session check itself.)
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

export function helmetOptions(production: boolean): HelmetOptions {
  return {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        upgradeInsecureRequests: production ? [] : null,
      },
    },
    hsts: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Pages reached by a link carry a token in their URL; no page leaks its URL onward.
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  };
}

/** Runs helmet once against a recording response and returns the headers it sets. */
export function computeSecurityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as never, recorder as never, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

/**
 * Headers that only a document (an HTML page a browser renders, frames or downloads) acts on.
 * A JSON answer of the API is never rendered, framed, prefetched from or opened as a download,
 * so they are left off there (issue #18: the session check's answer carried 12 security headers
 * around a few bytes of JSON). What applies to any answer stays on it: the CSP (rule 27;
 * `frame-ancestors 'none'` covers framing too), nosniff (no JSON read as script or HTML),
 * Cross-Origin-Resource-Policy (no cross-site read of an answer), Referrer-Policy and HSTS.
 */
const DOCUMENT_ONLY_HEADERS = ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-frame-options', 'x-permitted-cross-domain-policies', 'x-xss-protection'];

/** JSON API routes: everything under /api/ except the API docs, which are HTML pages. */
function answersJSON(url: string): boolean {
  return url.startsWith('/api/') && !url.startsWith('/api/v1/docs');
}

export const securityHeadersPlugin = fp(async function securityHeadersPlugin(app: FastifyInstance, options: { production: boolean }) {
  const headers = computeSecurityHeaders(helmetOptions(options.production));
  const apiHeaders = Object.fromEntries(Object.entries(headers).filter(([name]) => !DOCUMENT_ONLY_HEADERS.includes(name)));
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(answersJSON(request.url) ? apiHeaders : headers);
    done();
  });
});
