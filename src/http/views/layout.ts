/**
 * Page layout. The signed-in layout has the top bar: product name, the Settings menu (a
 * <details> menu, so it works without JavaScript), the user icon (accessible name
 * "User Details") and the "Log out" button. Scripts and styles come only from /assets
 * (the CSP allows no inline script).
 */
import { html, type SafeHTML } from './html.ts';
import { LOCAL_TIME_SCRIPT } from './time.ts';
import { renderVerificationBanner, type ResendState } from './verification-banner.ts';

export interface LayoutUser {
  name: string;
  role: 'admin' | 'user';
  csrfToken: string;
  /** Staged enforcement (PRODUCT.md §2.10): `YYYY-MM-DD` from which this user must have 2FA; the banner shows it. */
  twoFactorRequiredFrom?: string | null;
  /** False until the user verified their address: the pages show the banner (issue 17). */
  emailVerified?: boolean;
  /** The banner's answer to its resend button, when the page follows one. */
  verificationResend?: ResendState;
}

function documentShell(title: string, header: SafeHTML | string, main: SafeHTML, scripts: string[] = []): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Twofold</title>
<link rel="stylesheet" href="/assets/twofold.css">
${[LOCAL_TIME_SCRIPT, ...scripts].map((src) => html`<script src="${src}" defer></script>`)}
</head>
<body>
${header}
<main>${main}</main>
</body>
</html>`.value;
}

export interface BarePageOptions {
  scripts?: string[];
  /** A wide card, for pages that show more than a form (the development outbox). */
  wide?: boolean;
}

/** A page for visitors: login, sign-up, links. */
export function renderBarePage(title: string, main: SafeHTML, options: string[] | BarePageOptions = {}): string {
  const { scripts = [], wide = false } = Array.isArray(options) ? { scripts: options } : options;
  return documentShell(title, html`<header class="topbar"><a class="brand" href="/">Twofold</a></header>`, html`<div class="${wide ? 'card wide' : 'card'}">${main}</div>`, scripts);
}

export function renderSignedInPage(title: string, user: LayoutUser, main: SafeHTML, scripts: string[] = []): string {
  const settings =
    user.role === 'admin'
      ? html`<details class="menu"><summary>Settings</summary><ul><li><a href="/settings/account">Account Settings</a></li><li><a href="/settings/users">Users</a></li><li><a href="/settings/security-log">Security log</a></li></ul></details>`
      : '';
  const header = html`<header class="topbar">
<a class="brand" href="/">Twofold</a>
<nav class="actions">
${settings}
<a class="user-icon" href="/user" aria-label="User Details" title="User Details"><span aria-hidden="true">${initials(user.name)}</span></a>
<form method="post" action="/logout" class="inline"><input type="hidden" name="_csrf" value="${user.csrfToken}"><button type="submit" class="link">Log out</button></form>
</nav>
</header>`;
  const banner = user.emailVerified === false ? renderVerificationBanner(user.csrfToken, user.verificationResend ?? null) : '';
  return documentShell(title, header, html`${twoFactorBanner(user.twoFactorRequiredFrom ?? null)}${banner}${main}`, scripts);
}

/** On every signed-in page during the grace period of staged enforcement. */
function twoFactorBanner(requiredFrom: string | null): SafeHTML | string {
  if (requiredFrom === null) return '';
  return html`<p class="notice" role="status" id="two-factor-banner">Your account requires two-factor authentication from ${requiredFrom}. <a href="/user">Set it up now.</a></p>`;
}

function initials(name: string): string {
  const letters = name
    .split(/\s+/)
    .filter((part) => part.length > 0)
    .slice(0, 2)
    .map((part) => [...part][0]!.toUpperCase());
  return letters.join('') || '?';
}
