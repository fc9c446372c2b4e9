/** The sign-up page (PRODUCT.md §2.1, §6 labels): a new account and its first administrator. */
import { alertMessage, inputField, postForm } from './forms.ts';
import { html } from './html.ts';
import { renderBarePage } from './layout.ts';

type SignupValues = Record<'accountName' | 'name' | 'email' | 'password', string>;

export interface SignupView {
  csrfToken: string;
  /** What the visitor typed, shown again after a refusal; password inputs never take a value. */
  values: Partial<SignupValues>;
  error: { message: string; field?: string } | null;
}

export function renderSignupPage(view: SignupView): string {
  const { values, error } = view;
  const invalid = (field: string) => error?.field === field;
  return renderBarePage(
    'Sign up',
    html`<h1>Create your account</h1>
${alertMessage(error?.message)}
${postForm('/signup', view.csrfToken, [
  inputField({ label: 'Account name', name: 'accountName', value: values.accountName, autocomplete: 'organization', required: true, maxLength: 200, invalid: invalid('accountName') }),
  inputField({ label: 'Your name', name: 'name', value: values.name, autocomplete: 'name', required: true, maxLength: 200, invalid: invalid('name') }),
  inputField({ label: 'Email', name: 'email', type: 'email', value: values.email, autocomplete: 'email', required: true, maxLength: 254, invalid: invalid('email') }),
  inputField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minLength: 8, maxLength: 128, invalid: invalid('password'), hint: '8 to 128 characters.' }),
], 'Sign up')}
<p class="aside">Already have an account? <a href="/login">Log in</a></p>`,
  );
}
