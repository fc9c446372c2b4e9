/**
 * The page behind the admin's disable link (PRODUCT.md §2.6, SECURITY.md rules 22-24). Opening
 * it only peeks — mail scanners open links — and shows the password form with the button
 * "Disable Two Factor". Only the POST with the user's own password acts, and it logs no one in.
 * Expired, used and unknown links get one and the same 410 page saying what to do next.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog } from '../../errors.ts';
import { consumeDisableLink } from '../../factors/disable-link.ts';
import { peekLink } from '../../links/links.ts';
import { PasswordSchema, TokenParamSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import { alertMessage, inputField, postForm } from '../views/forms.ts';
import { html } from '../views/html.ts';
import { renderBarePage } from '../views/layout.ts';
import { formBodySchema, formProblem, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { refusePassword } from './password-refusal.ts';

function renderForm(csrfToken: string, token: string, error: string | null): string {
  return renderBarePage(
    'Turn off two-factor authentication',
    html`<h1>Turn off two-factor authentication</h1>
<p>Your administrator sent you this link because you may have lost the device you use for two-factor authentication. Enter your password to turn it off. Every session of your account will be signed out.</p>
${alertMessage(error)}
${postForm(`/2fa/disable/${encodeURIComponent(token)}`, csrfToken, inputField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxLength: 1024, invalid: error !== null }), 'Disable Two Factor', 'danger')}
<p class="aside">If you did not ask for this, leave this page: nothing changes unless your password is entered here.</p>`,
  );
}

function renderExpired(): string {
  return renderBarePage(
    'Link expired',
    html`<h1>This link cannot be used</h1>
<p role="alert">${errorCatalog.link_expired.message}</p>
<p>Disable links work once and for 24 hours, and a newer link replaces older ones. Ask your account administrator to send a new one from Settings &gt; Users, or use one of your recovery codes to log in.</p>
<p><a href="/login">Go to the login page</a></p>`,
  );
}

function renderDone(): string {
  return renderBarePage(
    'Two-factor authentication is off',
    html`<h1>Two-factor authentication is off</h1>
<p role="status">Your factors and recovery codes were removed and every session was signed out. We sent you an e-mail about it. If your account requires two-factor authentication, you will set it up again when you log in.</p>
<p><a class="button primary" href="/login">Log in</a></p>`,
  );
}

function tokenOf(request: FastifyRequest): string {
  return (request.params as { token: string }).token;
}

export async function disableLinkPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const expired = (reply: FastifyReply) => sendPage(reply, errorCatalog.link_expired.status, renderExpired());

  app.get('/2fa/disable/:token', { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema }, attachValidation: true }, async (request, reply) => {
    if (request.validationError || !(await peekLink(deps.db, deps.clock, 'disable_2fa', tokenOf(request)))) return expired(reply);
    return sendPage(reply, 200, renderForm(reply.generateCsrf(), tokenOf(request), null));
  });

  app.post(
    '/2fa/disable/:token',
    { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema, body: formBodySchema({ password: PasswordSchema }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const token = tokenOf(request);
      if (formProblem(request)) return sendPage(reply, 400, renderForm(reply.generateCsrf(), token, 'Enter your password.'));
      const { password } = readFields(request.body, ['password'] as const);
      const outcome = await consumeDisableLink(deps, token, password, originOf(request));
      if (outcome.ok) return sendPage(reply, 200, renderDone());
      if (outcome.reason === 'link_expired') return expired(reply);
      const refusal = refusePassword(reply, outcome, 'That password is not right.');
      return sendPage(reply, refusal.status, renderForm(reply.generateCsrf(), token, refusal.message));
    },
  );
}
