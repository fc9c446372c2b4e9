/**
 * What people call the browser and system behind a User-Agent header ("Chrome on macOS"), for the
 * sessions list, the security log and notices. A small ordered table rather than a parser library:
 * only the family and the OS are asked for, and since browsers froze their user-agent strings
 * (Chrome's UA reduction, Safari's frozen macOS version) the versions and devices a full parser
 * reads are no longer reliable anyway. ua-parser-js v2 is AGPL; v1 and bowser would add a
 * dependency for what these few lines do. Order matters: many browsers also say "Chrome" or
 * "Safari", so the more specific tokens are tried first.
 */

export interface UserAgentDescription {
  /** "Chrome", "Firefox", … or "Unknown browser". */
  browser: string;
  /** "macOS", "Windows", … or "Unknown system". */
  os: string;
  /** "Chrome on macOS"; a header that names neither reads "Unknown browser". */
  label: string;
}

const UNKNOWN_BROWSER = 'Unknown browser';
const UNKNOWN_OS = 'Unknown system';

/** First match wins: more specific tokens before the ones they also contain. */
const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|OPT|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:HeadlessChrome)\//, 'Headless Chrome'],
  [/\b(?:Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bAppleWebKit\/.*\bMobile\//, 'Safari'],
  [/\bcurl\//i, 'curl'],
  [/\bPostmanRuntime\//, 'Postman'],
  [/\b(?:python-requests|python-httpx|aiohttp)\//i, 'Python'],
  [/\bnode-fetch\b|\bundici\b|^node\b/i, 'Node.js'],
  [/\bokhttp\//i, 'OkHttp'],
];

const SYSTEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(?:iPhone|iPad|iPod)\b|\biOS\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

function firstMatch(table: ReadonlyArray<readonly [RegExp, string]>, text: string): string | null {
  for (const [pattern, name] of table) if (pattern.test(text)) return name;
  return null;
}

export function describeUserAgent(userAgent: string | null | undefined): UserAgentDescription {
  // Headers are capped where they are stored (512); the cap here bounds the regular expressions' work.
  const text = (userAgent ?? '').slice(0, 512);
  const browser = firstMatch(BROWSERS, text);
  const os = firstMatch(SYSTEMS, text);
  const label = browser && os ? `${browser} on ${os}` : (browser ?? (os ? `${UNKNOWN_BROWSER} on ${os}` : UNKNOWN_BROWSER));
  return { browser: browser ?? UNKNOWN_BROWSER, os: os ?? UNKNOWN_OS, label };
}
