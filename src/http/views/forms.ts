/**
 * Form fragments shared by the pages: every field has a visible <label>, every form carries
 * the CSRF token, and a failure is announced once through role="alert". Password inputs never
 * take a value: a re-rendered form must not echo a password back into the page.
 */
import { html, type SafeHTML } from './html.ts';

export interface InputField {
  label: string;
  name: string;
  type?: 'text' | 'email' | 'password' | 'date';
  value?: string;
  autocomplete?: string;
  required?: boolean;
  minLength?: number;
  maxLength?: number;
  invalid?: boolean;
  hint?: string;
  /** Needed when two forms on one page have a field of the same name. */
  id?: string;
}

export function inputField(field: InputField): SafeHTML {
  const id = field.id ?? `field-${field.name}`;
  const type = field.type ?? 'text';
  const value = type === 'password' ? undefined : field.value;
  const hintId = field.hint ? `${id}-hint` : undefined;
  return html`<div class="field">
<label for="${id}">${field.label}</label>
<input id="${id}" name="${field.name}" type="${type}"${value ? html` value="${value}"` : ''}${field.autocomplete ? html` autocomplete="${field.autocomplete}"` : ''}${field.required ? html` required` : ''}${field.minLength ? html` minlength="${field.minLength}"` : ''}${field.maxLength ? html` maxlength="${field.maxLength}"` : ''}${field.invalid ? html` aria-invalid="true"` : ''}${hintId ? html` aria-describedby="${hintId}"` : ''}>
${field.hint ? html`<p class="hint" id="${hintId}">${field.hint}</p>` : ''}
</div>`;
}

export interface SelectField {
  label: string;
  name: string;
  options: Array<{ value: string; label: string }>;
  value?: string;
}

export function selectField(field: SelectField): SafeHTML {
  const id = `field-${field.name}`;
  return html`<div class="field">
<label for="${id}">${field.label}</label>
<select id="${id}" name="${field.name}">${field.options.map((option) => html`<option value="${option.value}"${option.value === field.value ? html` selected` : ''}>${option.label}</option>`)}</select>
</div>`;
}

export interface CheckboxField {
  label: string;
  name: string;
  checked: boolean;
  hint?: string;
}

/** Sends `name=on` when ticked and nothing at all when not, as HTML checkboxes do. */
export function checkboxField(field: CheckboxField): SafeHTML {
  const id = `field-${field.name}`;
  const hintId = field.hint ? `${id}-hint` : undefined;
  return html`<div class="field checkbox">
<input id="${id}" name="${field.name}" type="checkbox" value="on"${field.checked ? html` checked` : ''}${hintId ? html` aria-describedby="${hintId}"` : ''}>
<label for="${id}">${field.label}</label>
${field.hint ? html`<p class="hint" id="${hintId}">${field.hint}</p>` : ''}
</div>`;
}

export function csrfField(token: string): SafeHTML {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** 'danger' marks a button whose action cannot simply be undone (deactivating a user). */
export type ButtonStyle = 'primary' | 'danger';

/** A POST form with its CSRF token and one submit button. */
export function postForm(action: string, csrfToken: string, fields: SafeHTML | SafeHTML[], submitLabel: string, buttonStyle: ButtonStyle = 'primary'): SafeHTML {
  return html`<form method="post" action="${action}" class="stacked">
${csrfField(csrfToken)}
${fields}
<button type="submit" class="${buttonStyle}">${submitLabel}</button>
</form>`;
}

/** A GET form (filters): it changes nothing, so it carries no CSRF token and keeps its state in the URL. */
export function getForm(action: string, fields: SafeHTML | SafeHTML[], submitLabel: string): SafeHTML {
  return html`<form method="get" action="${action}" class="filters">
${fields}
<button type="submit">${submitLabel}</button>
</form>`;
}

/** The message may be a fragment, for an alert that carries a link to the way out. */
export function alertMessage(message: string | SafeHTML | null | undefined): SafeHTML | '' {
  return message ? html`<p class="alert" role="alert">${message}</p>` : '';
}

export function statusMessage(message: string | null | undefined): SafeHTML | '' {
  return message ? html`<p class="notice" role="status">${message}</p>` : '';
}
