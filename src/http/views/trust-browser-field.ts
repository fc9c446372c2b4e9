/**
 * "Trust this browser for N days" on the Verification Code page (PRODUCT.md §2.11): a small part
 * of its own, shown in the code form and beside the security key. N is the account's current
 * setting; with 0 (trust off) there is no checkbox at all.
 */
import { html, type SafeHTML } from './html.ts';

export const TRUST_BROWSER_FIELD = 'trustBrowser';

export function trustBrowserLabel(days: number): string {
  return `Trust this browser for ${days === 1 ? '1 day' : `${days} days`}`;
}

/** `id`: each form on the page has its own box. */
export function trustBrowserField(days: number, id: string): SafeHTML {
  if (days <= 0) return html``;
  return html`<div class="field checkbox">
<input id="${id}" name="${TRUST_BROWSER_FIELD}" type="checkbox" value="on" aria-describedby="${id}-hint">
<label for="${id}">${trustBrowserLabel(days)}</label>
<p class="hint" id="${id}-hint">Next time on this browser, only your password is asked. Do not tick this on a shared or public computer.</p>
</div>`;
}
