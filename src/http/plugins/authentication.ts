/**
 * The central authentication guard (SECURITY.md rules 8 and 10). Every route is protected
 * unless its config says otherwise — deny by default, so a route added later without thinking
 * about it still refuses half-authenticated and enrollment-only sessions. The state comes only
 * from the server-side session record; nothing the client sends decides it.
 *
 * Route access levels (route option `config.access`):
 * - 'public': no session needed (sign-up, login steps, links, health, docs)
 * - 'challenge': a password-only session finishing its login (the Verification Code step)
 * - 'setup': a complete session, or one that must enrol before going further (2FA setup)
 * - 'any-session': any session at all (logout)
 * - 'complete' (the default): a fully authenticated session
 * and `config.role: 'admin'` additionally requires an administrator.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { systemClock, type Clock } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { validateSessionToken, type SessionContext } from '../../sessions/sessions.ts';
import { isAPIRequest } from '../request-origin.ts';
import { METHOD_KINDS } from '../../factors/registry.ts';

export type Access = 'public' | 'challenge' | 'setup' | 'any-session' | 'complete';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    role?: 'admin';
  }
  interface FastifyInstance {
    /** Every route registered after the guard, with the access level the guard applies. */
    routeCatalog: RouteEntry[];
  }
  interface FastifyRequest {
    session: SessionContext | null;
    /** How the token arrived; CSRF checks apply to cookies only. */
    sessionSource: 'cookie' | 'bearer' | null;
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  access: Access;
  role: 'admin' | null;
  /** The route authenticates an application, never our cookie (see csrf.ts): no Origin check. */
  clientAuthenticated: boolean;
}

export interface SessionCookie {
  name: string;
  secure: boolean;
  /** The session's absolute lifetime: the cookie lives as long as the session can (issue 17). */
  lifetime: SessionCookieLifetime;
}

export interface SessionCookieLifetime {
  clock: Clock;
  sessionAbsoluteMs: number;
}

/** `lifetime` is needed to set the cookie; its name alone (tests reading a browser's cookie) needs only the URL. */
export function sessionCookieFor(publicURL: URL, lifetime: SessionCookieLifetime = { clock: systemClock, sessionAbsoluteMs: 0 }): SessionCookie {
  // The __Host- prefix pins the cookie to this host and path /, and requires Secure (rule 25).
  const secure = publicURL.protocol === 'https:';
  return { name: secure ? '__Host-twofold_session' : 'twofold_session', secure, lifetime };
}

/**
 * A persistent cookie: Max-Age is what is left of the session's absolute lifetime, so closing
 * the browser does not sign out a 7-day session. `sessionCreatedAt`: when the session began (an
 * upgraded session keeps its start); a new session omits it.
 */
export function setSessionCookie(reply: FastifyReply, cookie: SessionCookie, token: string, sessionCreatedAt?: number): void {
  const now = cookie.lifetime.clock.now();
  const remainingMs = (sessionCreatedAt ?? now) + cookie.lifetime.sessionAbsoluteMs - now;
  const maxAge = Math.max(0, Math.floor(remainingMs / 1000));
  reply.setCookie(cookie.name, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: cookie.secure, maxAge });
}

export function clearSessionCookie(reply: FastifyReply, cookie: SessionCookie): void {
  reply.clearCookie(cookie.name, { path: '/', httpOnly: true, sameSite: 'lax', secure: cookie.secure });
}

/** The bearer token of an `Authorization: Bearer` header; any other Authorization header is none. */
export function readBearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer ([A-Za-z0-9_-]{1,128})$/.exec(header.trim());
  return match ? match[1]! : null;
}

/** Refusal for a request whose session does not reach the route: API error or page redirect. */
function refuse(request: FastifyRequest, reply: FastifyReply, reason: 'unauthenticated' | 'mfa_required' | 'enrollment_required' | 'forbidden'): FastifyReply | void {
  if (isAPIRequest(request) || reason === 'forbidden') throw new HttpError(reason);
  const target = reason === 'unauthenticated' ? `/login?next=${encodeURIComponent(request.url)}` : reason === 'mfa_required' ? '/login/verify' : '/user';
  return reply.header('cache-control', 'no-store').redirect(target, 303);
}

export const authenticationPlugin = fp(async function authenticationPlugin(app: FastifyInstance, options: { deps: Deps; cookie: SessionCookie }) {
  const { deps, cookie } = options;
  const catalog: RouteEntry[] = [];
  app.decorate('routeCatalog', catalog);
  app.addHook('onRoute', (route) => {
    // Read the config when asked: hooks of inner plugins may still set it after this one ran.
    const config = () => (route.config ?? {}) as { access?: Access; role?: 'admin'; clientAuthenticated?: boolean };
    for (const method of [route.method].flat()) {
      catalog.push({
        method,
        url: route.url,
        get access() {
          return config().access ?? 'complete';
        },
        get role() {
          return config().role ?? null;
        },
        get clientAuthenticated() {
          return config().clientAuthenticated === true;
        },
      });
    }
  });
  app.decorateRequest('session', null);
  app.decorateRequest('sessionSource', null);

  app.addHook('onRequest', async (request, reply) => {
    const bearer = readBearer(request);
    const cookieToken = request.cookies[cookie.name];
    const token = bearer ?? cookieToken ?? null;
    if (token) {
      request.session = await validateSessionToken(deps.db, deps.clock, deps.config.policy, token, METHOD_KINDS);
      request.sessionSource = request.session ? (bearer ? 'bearer' : 'cookie') : null;
    }
    if (request.is404) return;
    const access = request.routeOptions.config.access ?? 'complete';
    if (access === 'public') return;
    const session = request.session;
    if (!session) return refuse(request, reply, 'unauthenticated');
    if (access === 'any-session') return;
    if (access === 'challenge') {
      if (session.state === 'password_only') return;
      // A page of a login already finished (the back button, a bookmark): go on to User Details.
      if (!isAPIRequest(request) && request.method === 'GET') return reply.header('cache-control', 'no-store').redirect('/user', 303);
      return refuse(request, reply, 'forbidden');
    }
    if (session.state === 'password_only') return refuse(request, reply, 'mfa_required');
    if (access === 'setup') return;
    if (session.state === 'enrollment_required') return refuse(request, reply, 'enrollment_required');
    if (request.routeOptions.config.role === 'admin' && session.role !== 'admin') return refuse(request, reply, 'forbidden');
  });
});

/**
 * For plugins that register their own routes (API docs, static assets): every route registered
 * in this encapsulated context is public. Used only where a route cannot carry its own config.
 */
export function markRoutesPublic(context: FastifyInstance): void {
  context.addHook('onRoute', (route) => {
    route.config = { ...(route.config as object), access: 'public' };
  });
}

/** The session of a route the guard let through at 'complete', 'setup' or 'any-session'. */
export function requireSession(request: FastifyRequest): SessionContext {
  if (!request.session) throw new HttpError('unauthenticated');
  return request.session;
}
