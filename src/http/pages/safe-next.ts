/**
 * Where to go after logging in. `next` comes from the URL, so anyone can craft it: only a path
 * on this site is followed (an open redirect would lend our domain to phishing). Browsers read
 * "//host" and "/\host" as another host, and drop tabs and newlines before parsing — so
 * "/\t/host" is "//host" too; all of those are refused rather than repaired.
 */
const MAX_NEXT_LENGTH = 2048;
const PROBE_ORIGIN = 'http://twofold.invalid';

export function safeNextPath(next: unknown): string | null {
  if (typeof next !== 'string' || next.length === 0 || next.length > MAX_NEXT_LENGTH) return null;
  if (!next.startsWith('/') || next.startsWith('//')) return null;
  // Backslashes, controls, spaces and DEL have no place in a path we issued ourselves.
  if (/[\\\u0000-\u0020\u007f]/.test(next)) return null;
  let parsed: URL;
  try {
    parsed = new URL(next, PROBE_ORIGIN);
  } catch {
    return null;
  }
  if (parsed.origin !== PROBE_ORIGIN) return null;
  return parsed.pathname + parsed.search + parsed.hash;
}

/** The login page's own address, carrying a safe `next` along so the form posts it back. */
export function loginPath(next: string | null): string {
  return next ? `/login?next=${encodeURIComponent(next)}` : '/login';
}
