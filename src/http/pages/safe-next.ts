/**
 * Where to go after logging in. `next` comes from the URL, so anyone can craft it: only a path
 * on this site is followed (an open redirect would lend our domain to phishing). Browsers read
 * "//host" and "/\host" as another host, and drop tabs and newlines before parsing — so
 * "/\t/host" is "//host" too; all of those are refused rather than repaired.
 *
 * The check runs on what we answer, not only on what was sent: the URL parser resolves dot
 * segments ("/.//host", "/..//host", "/%2e//host" all become "//host"), so a raw string that
 * looks like a path can normalise into another host (issue 13).
 */
const MAX_NEXT_LENGTH = 2048;
const PROBE_ORIGIN = 'http://twofold.invalid';

/** Backslashes, controls, spaces and DEL have no place in a path we issued ourselves. */
const UNSAFE_CHARACTERS = /[\\\u0000-\u0020\u007f]/;

/**
 * A path of this site with exactly one leading slash. A leading encoded slash or backslash
 * ("/%2F/host") is refused too: a proxy or framework that decodes the path once would turn it
 * into "//host".
 */
function isSingleSlashPath(path: string): boolean {
  if (!path.startsWith('/') || path.startsWith('//') || UNSAFE_CHARACTERS.test(path)) return false;
  return !/^\/(?:%2f|%5c)/i.test(path);
}

export function safeNextPath(next: unknown): string | null {
  if (typeof next !== 'string' || next.length === 0 || next.length > MAX_NEXT_LENGTH) return null;
  if (!isSingleSlashPath(next)) return null;
  let parsed: URL;
  try {
    parsed = new URL(next, PROBE_ORIGIN);
  } catch {
    return null;
  }
  if (parsed.origin !== PROBE_ORIGIN) return null;
  const normalised = parsed.pathname + parsed.search + parsed.hash;
  // What the browser receives must itself be a path on this site, resolved the same way.
  if (!isSingleSlashPath(normalised) || new URL(normalised, PROBE_ORIGIN).origin !== PROBE_ORIGIN) return null;
  return normalised;
}

/** The login page's own address, carrying a safe `next` along so the form posts it back. */
export function loginPath(next: string | null): string {
  return next ? `/login?next=${encodeURIComponent(next)}` : '/login';
}

/** The login page's query flag that makes its login end with a code even from a trusted browser. */
export const SECOND_FACTOR_REQUIRED_PARAM = 'secondFactor';

/** A login address (from loginPath) whose login must end with a code: an application asked for one. */
export function withSecondFactorRequired(path: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}${SECOND_FACTOR_REQUIRED_PARAM}=required`;
}
