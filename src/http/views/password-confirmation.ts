/**
 * The "Confirm your password" form that guards sensitive actions (SECURITY.md rule 28). It posts
 * to /reauthenticate with the page to return to, so any page can embed it where its action
 * would otherwise be, and the visitor comes back to that page once the password is accepted.
 */
import { alertMessage, inputField, postForm } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';

export const REAUTHENTICATE_PATH = '/reauthenticate';

export function reauthenticatePath(next: string): string {
  return `${REAUTHENTICATE_PATH}?next=${encodeURIComponent(next)}`;
}

export interface PasswordConfirmation {
  csrfToken: string;
  /** The page to return to; the handler accepts only a path on this site. */
  next: string;
  /** Why the password is asked for, in the words of the page that asks. */
  reason: string;
  error?: string | null;
  /** 1 on a page of its own, deeper inside a section of another page. */
  headingLevel: 1 | 2 | 3;
}

function heading(level: 1 | 2 | 3, text: string): SafeHTML {
  if (level === 1) return html`<h1>${text}</h1>`;
  return level === 2 ? html`<h2>${text}</h2>` : html`<h3>${text}</h3>`;
}

export function renderPasswordConfirmation(confirmation: PasswordConfirmation): SafeHTML {
  return html`<div class="reauthenticate">
${heading(confirmation.headingLevel, 'Confirm your password')}
<p>${confirmation.reason}</p>
${alertMessage(confirmation.error)}
${postForm(reauthenticatePath(confirmation.next), confirmation.csrfToken, inputField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024, invalid: Boolean(confirmation.error) }), 'Confirm')}
</div>`;
}

/** The form as a page of its own (GET /reauthenticate, and a refused POST to it). */
export function renderPasswordConfirmationPage(layoutUser: LayoutUser, confirmation: Omit<PasswordConfirmation, 'csrfToken' | 'headingLevel'>): string {
  const main = html`<section class="panel narrow">${renderPasswordConfirmation({ ...confirmation, csrfToken: layoutUser.csrfToken, headingLevel: 1 })}</section>`;
  return renderSignedInPage('Confirm your password', layoutUser, main);
}
