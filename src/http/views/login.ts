/** The login page (PRODUCT.md §2.2 step 1, §6 labels): "Email", "Password" and "Log in". */
import { alertMessage, inputField, postForm, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderBarePage } from './layout.ts';

export interface LoginView {
  csrfToken: string;
  /** Where the form posts: /login, carrying a safe `next` along. */
  action: string;
  /** What the visitor typed, shown again after a refusal; never the password. */
  email: string;
  error: string | SafeHTML | null;
  signupEnabled: boolean;
  /** Why this browser's last session ended, when someone or something else ended it. */
  signedOutBecause?: string | null;
}

export function renderLoginPage(view: LoginView): string {
  return renderBarePage(
    'Log in',
    html`<h1>Log in</h1>
${statusMessage(view.signedOutBecause)}
${alertMessage(view.error)}
${postForm(view.action, view.csrfToken, [
  inputField({ label: 'Email', name: 'email', type: 'email', value: view.email, autocomplete: 'username', required: true, maxLength: 254 }),
  inputField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024 }),
], 'Log in')}
<p class="aside"><a href="/password/forgot">Forgot password?</a></p>
${view.signupEnabled ? html`<p class="aside">New to Twofold? <a href="/signup">Create an account</a></p>` : ''}`,
  );
}
