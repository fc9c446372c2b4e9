import { html } from './html.ts';
import { renderBarePage } from './layout.ts';

export function renderErrorPage(status: number, message: string, signedIn: boolean): string {
  const next = signedIn ? html`<a href="/user">Back to your account</a>` : html`<a href="/login">Go to the login page</a>`;
  return renderBarePage(status >= 500 ? 'Something went wrong' : 'That did not work', html`<h1>${status >= 500 ? 'Something went wrong' : 'That did not work'}</h1><p role="alert">${message}</p><p>${next}</p>`);
}
