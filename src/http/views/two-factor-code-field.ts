/**
 * The one input a person types a second-factor code into: the "Confirm" field of enrollment and
 * the Verification Code page. Unlike views/forms.ts's inputField it asks phones for the digit
 * keyboard and lets them offer a code from an SMS or password manager (autocomplete
 * one-time-code), and it never takes a value: a re-rendered form must not echo a code back.
 * No `pattern` attribute on purpose: a malformed code must reach the server, where it is
 * counted as a guess like any other (SECURITY.md rule 33), rather than be held back by the page.
 */
import { html, type SafeHTML } from './html.ts';

export interface CodeField {
  label: string;
  name: string;
  id: string;
  /** 'digits' for TOTP codes; 'recovery' for xxxxx-xxxxx codes (letters too). */
  kind: 'digits' | 'recovery';
  hint: string;
  invalid?: boolean;
  /** The page's one task is typing this code (the Verification Code page): the cursor starts here. */
  autofocus?: boolean;
}

export function codeField(field: CodeField): SafeHTML {
  const hintId = `${field.id}-hint`;
  const keyboard = field.kind === 'digits' ? html` inputmode="numeric" autocomplete="one-time-code"` : html` autocomplete="off" autocapitalize="none" spellcheck="false"`;
  return html`<div class="field">
<label for="${field.id}">${field.label}</label>
<input id="${field.id}" name="${field.name}" type="text" class="code-input"${keyboard} required maxlength="64" aria-describedby="${hintId}"${field.invalid ? html` aria-invalid="true"` : ''}${field.autofocus ? html` autofocus` : ''}>
<p class="hint" id="${hintId}">${field.hint}</p>
</div>`;
}
