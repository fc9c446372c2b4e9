/**
 * The trusted-browser cookie (PRODUCT.md §2.11; SECURITY.md rule 42): separate from the session
 * cookie, so logging out keeps it and "Remove" ends it on the server. HttpOnly and SameSite=Lax
 * like the session's; under an https PUBLIC_URL it is `__Host-` (Secure, this host, Path=/). It
 * lives until the trust's fixed expiry; the server checks that expiry and the account's current
 * setting on every use, so the browser's copy of the date decides nothing.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionCookie } from './plugins/authentication.ts';

/** The trusted-browser cookie's name and flags follow the session cookie's (https or development http). */
function trustedBrowserCookieName(session: SessionCookie): string {
  return session.secure ? '__Host-twofold_trusted_browser' : 'twofold_trusted_browser';
}

export function setTrustedBrowserCookie(reply: FastifyReply, session: SessionCookie, trust: { secret: string; expiresAt: number }, now: number): void {
  const maxAge = Math.max(0, Math.floor((trust.expiresAt - now) / 1000));
  reply.setCookie(trustedBrowserCookieName(session), trust.secret, { path: '/', httpOnly: true, sameSite: 'lax', secure: session.secure, maxAge });
}

/** The secret this browser holds, if any (its shape and worth are checked by the login). */
export function readTrustedBrowserSecret(request: FastifyRequest, session: SessionCookie): string | undefined {
  return request.cookies[trustedBrowserCookieName(session)];
}
