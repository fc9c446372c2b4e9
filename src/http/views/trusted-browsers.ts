/**
 * The "Trusted browsers" section of User Details (PRODUCT.md §2.11): each browser that skips the
 * code at the user's next password logins, with "Remove" and "Remove all". A view file of its
 * own: the "Sessions" list sits beside it.
 */
import { describeUserAgent } from '../../users/user-agent.ts';
import { timeElement } from './time.ts';
import { csrfField } from './forms.ts';
import { html, type SafeHTML } from './html.ts';

export const TRUSTED_BROWSERS_PATH = '/user/trusted-browsers';

export function removeTrustedBrowserPath(id: string): string {
  return `${TRUSTED_BROWSERS_PATH}/${encodeURIComponent(id)}/remove`;
}

export const REMOVE_ALL_TRUSTED_BROWSERS_PATH = `${TRUSTED_BROWSERS_PATH}/remove-all`;

export interface TrustedBrowserRow {
  id: string;
  userAgent: string;
  grantedAt: number;
  lastUsedAt: number | null;
}

function browserName(userAgent: string): string {
  return userAgent === '' ? 'Unknown browser' : describeUserAgent(userAgent).label;
}

export function renderTrustedBrowsersSection(browsers: readonly TrustedBrowserRow[], csrfToken: string): SafeHTML {
  const list =
    browsers.length === 0
      ? html`<p>No browser is trusted. When you log in, tick “Trust this browser” on the Verification Code page to skip the code on that browser next time.</p>`
      : html`<table class="trusted-browsers"><thead><tr><th scope="col">Browser</th><th scope="col">Added</th><th scope="col">Last used</th><th scope="col">Action</th></tr></thead><tbody>
${browsers.map(
  (browser) =>
    html`<tr><td>${browserName(browser.userAgent)}</td><td>${timeElement(browser.grantedAt)}</td><td>${browser.lastUsedAt === null ? 'Never' : timeElement(browser.lastUsedAt)}</td><td><form method="post" action="${removeTrustedBrowserPath(browser.id)}" class="inline">${csrfField(csrfToken)}<button type="submit">Remove</button></form></td></tr>`,
)}
</tbody></table>
<form method="post" action="${REMOVE_ALL_TRUSTED_BROWSERS_PATH}" class="inline">${csrfField(csrfToken)}<button type="submit">Remove all</button></form>`;
  return html`<section class="panel" aria-labelledby="trusted-browsers-heading">
<h2 id="trusted-browsers-heading">Trusted browsers</h2>
<p>These browsers ask only for your password when you log in, until their trust expires.</p>
${list}
</section>`;
}
