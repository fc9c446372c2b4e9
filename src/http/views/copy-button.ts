/** "Copy" buttons (issue 17): the authenticator key on the QR page, the recovery codes. */
import { html, type SafeHTML } from './html.ts';

/** The "Copy" (and "Print") buttons' script. */
export const COPY_SCRIPT = '/assets/copy-text.js';

/**
 * A "Copy" button for the text of element `targetId`. Hidden until public/copy-text.js shows it
 * (a button that cannot work is not shown); without JavaScript the text is plain, selectable text.
 * `withoutSpaces`: copy the key as one word, as apps want it pasted.
 */
export function copyButton(targetId: string, label: string, withoutSpaces = false): SafeHTML {
  return html`<button type="button" class="copy-button" data-copy="${targetId}"${withoutSpaces ? html` data-copy-without-spaces` : ''} hidden>${label}</button><span class="copy-status" role="status" data-copy-status="${targetId}"></span>`;
}
