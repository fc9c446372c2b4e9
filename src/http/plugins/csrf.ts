/**
 * Cross-site request forgery (SECURITY.md rule 26). Two layers:
 * - Origin: every unsafe request that a browser could send with our cookie — any page form,
 *   and any API call carrying the session cookie rather than a bearer token — must name one of
 *   our origins in its Origin header; a missing Origin is refused. The allowed origin comes
 *   from PUBLIC_URL (rule 23), never from the Host header. "Origin: null" counts only with
 *   Sec-Fetch-Site: same-origin (our pages send no referrer, which makes browsers say null).
 * - Token: page forms also carry a token bound to a signed cookie (@fastify/csrf-protection),
 *   checked by `verifyFormToken` on each page POST.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import fastifyCsrf from '@fastify/csrf-protection';
import { HttpError } from '../../errors.ts';
import { isAPIRequest } from '../request-origin.ts';
import { readBearer } from './authentication.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route authenticates an application (client secret, PKCE verifier, bearer access token),
     * never our cookie — the OpenID Provider's token endpoint and its kin, called by servers that
     * send no Origin. There is nothing of the browser's to forge, so no Origin check.
     */
    clientAuthenticated?: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function allowedOrigins(publicURL: URL, production: boolean, port: number): Set<string> {
  const origins = new Set([publicURL.origin]);
  // The development default PUBLIC_URL says localhost; a developer opening 127.0.0.1 is the same machine.
  if (!production) {
    origins.add(`http://localhost:${port}`);
    origins.add(`http://127.0.0.1:${port}`);
  }
  return origins;
}

function needsOriginCheck(request: FastifyRequest, cookieName: string): boolean {
  if (SAFE_METHODS.has(request.method)) return false;
  if (request.routeOptions.config?.clientAuthenticated === true) return false;
  if (!isAPIRequest(request)) return true;
  const hasCookie = request.cookies[cookieName] !== undefined;
  // Only a bearer token that the guard will use instead of the cookie exempts the request:
  // browsers attach other Authorization headers (HTTP Basic behind a proxy) to forged requests.
  return hasCookie && readBearer(request) === null;
}

export const csrfPlugin = fp(async function csrfPlugin(app: FastifyInstance, options: { origins: Set<string>; cookieName: string; secureCookies: boolean }) {
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: options.secureCookies ? '__Host-twofold_csrf' : 'twofold_csrf',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', secure: options.secureCookies, signed: true },
    getToken: (request) => {
      const body = request.body as { _csrf?: unknown } | undefined;
      return typeof body?._csrf === 'string' ? body._csrf : undefined;
    },
  });

  // A callback hook, not an async one: it runs on every request and has nothing to wait for.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!needsOriginCheck(request, options.cookieName)) return done();
    const origin = request.headers.origin;
    if (typeof origin === 'string' && options.origins.has(origin)) return done();
    // Under Referrer-Policy: no-referrer a browser sends "Origin: null" even for a form posted by
    // our own page (Fetch, "serializing a request origin"); Fetch Metadata, which page scripts
    // cannot set, then tells whether the post came from one of our pages.
    if (origin === 'null' && request.headers['sec-fetch-site'] === 'same-origin') return done();
    done(new HttpError('csrf_rejected'));
  });
});

/** preHandler for page form POSTs: the form's token must match its cookie. */
export function verifyFormToken(app: FastifyInstance) {
  return app.csrfProtection;
}
