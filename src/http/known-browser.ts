/**
 * The browser cookie behind the new-browser login notice (login/known-browsers.ts): a random
 * 256-bit value, HttpOnly, SameSite=Lax, `__Host-` and Secure under https, kept 400 days (the
 * longest a browser keeps a cookie). It authenticates nothing — it only lets a login from the
 * same browser go unannounced — so it is set on every completed login that lacks one.
 *
 * Only logins made in a browser are considered: page logins, and API calls that came with the
 * page's session cookie. A client of the Bearer API keeps no cookies, so every one of its logins
 * would read as "new": announcing them would bury the notice that matters.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { generateToken, isWellFormedToken } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { noteBrowserLogin, type BrowserLoginUser } from '../login/known-browsers.ts';
import { holdsTrustedBrowserRecord } from '../trusted-browsers/trusted-browsers.ts';
import { sessionCookieFor } from './plugins/authentication.ts';
import { originOf } from './request-origin.ts';
import { readTrustedBrowserSecret } from './trusted-browser-cookie.ts';

const MAX_AGE_SECONDS = 400 * 24 * 60 * 60;

function browserCookieName(publicURL: URL): string {
  return publicURL.protocol === 'https:' ? '__Host-twofold_browser' : 'twofold_browser';
}

export async function noteBrowserAfterLogin(deps: Deps, request: FastifyRequest, reply: FastifyReply, user: BrowserLoginUser): Promise<void> {
  const name = browserCookieName(deps.config.publicURL);
  const sent = request.cookies[name];
  const token = sent && isWellFormedToken(sent) ? sent : generateToken();
  if (token !== sent) reply.setCookie(name, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: deps.config.publicURL.protocol === 'https:', maxAge: MAX_AGE_SECONDS });
  // A browser holding a trusted-browser cookie of this user is known too (it logged in and passed
  // the second step before), even if this cookie was cleared: it is recorded, not announced.
  const trusted = await holdsTrustedBrowserRecord(deps.db, user.userId, readTrustedBrowserSecret(request, sessionCookieFor(deps.config.publicURL)));
  await noteBrowserLogin(deps, user, token, originOf(request), { announce: !trusted });
}
