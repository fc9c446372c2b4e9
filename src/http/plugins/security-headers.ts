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

export const securityHeadersPlugin = fp(async function securityHeadersPlugin(app: FastifyInstance, options: { production: boolean }) {
  const headers = computeSecurityHeaders(helmetOptions(options.production));
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
});
