/**
 * Pages behind e-mailed links: forgot / reset password and accepting an invitation
 * (PRODUCT.md §2.1, §6 "Links"). Opening a link only peeks at it — mail scanners follow links —
 * and only the POST that sets the password uses it up. Expired, used and unknown tokens all get
 * the same 410 page. Neither flow logs anyone in: the next login still asks for every factor.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog } from '../../errors.ts';
import { peekLink, type LinkKind } from '../../links/links.ts';
import { requestPasswordReset, resetPassword } from '../../passwords/reset.ts';
import { isAcceptablePassword } from '../../passwords/policy.ts';
import { acceptInvitation } from '../../users/invitations.ts';
import { findUserById } from '../../users/users.ts';
import { EmailSchema, PasswordSchema, TokenParamSchema } from '../api/schemas.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { originOf } from '../request-origin.ts';
import { alertMessage, inputField, postForm } from '../views/forms.ts';
import { html, type SafeHTML } from '../views/html.ts';
import { renderBarePage } from '../views/layout.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, readFields, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';

const PASSWORD_HINT = '8 to 128 characters.';

function newPasswordField(label: string, invalid: boolean): SafeHTML {
  return inputField({ label, name: 'password', type: 'password', autocomplete: 'new-password', required: true, minLength: 8, maxLength: 128, invalid, hint: PASSWORD_HINT });
}

function renderLinkExpired(kind: LinkKind): string {
  const way = kind === 'password_reset' ? html`<a href="/password/forgot">Ask for a new reset link</a>` : html`<a href="/login">Go to the login page</a>`;
  return renderBarePage('Link expired', html`<h1>This link cannot be used</h1><p role="alert">${errorCatalog.link_expired.message}</p><p>${way}</p>`);
}

function renderDone(title: string, message: string): string {
  return renderBarePage(title, html`<h1>${title}</h1><p role="status">${message}</p><p><a class="button primary" href="/login">Log in</a></p>`);
}

function sendLinkExpired(reply: FastifyReply, kind: LinkKind): FastifyReply {
  return sendPage(reply, errorCatalog.link_expired.status, renderLinkExpired(kind));
}

function tokenOf(request: FastifyRequest): string {
  return (request.params as { token: string }).token;
}

function renderForgot(csrfToken: string, email: string, error: string | null): string {
  return renderBarePage(
    'Forgot password',
    html`<h1>Forgot your password?</h1>
<p>Enter the email address you log in with. We will send you a link to choose a new password.</p>
${alertMessage(error)}
${postForm('/password/forgot', csrfToken, inputField({ label: 'Email', name: 'email', type: 'email', value: email, autocomplete: 'email', required: true, maxLength: 254, invalid: error !== null }), 'Send reset link')}
<p class="aside"><a href="/login">Back to the login page</a></p>`,
  );
}

function renderForgotSent(): string {
  // The same words whether or not the address has an account: the page is no membership test.
  return renderBarePage(
    'Check your e-mail',
    html`<h1>Check your e-mail</h1>
<p role="status">If an account uses that address, we have sent it a link to choose a new password. The link works once, for 24 hours.</p>
<p><a href="/login">Back to the login page</a></p>`,
  );
}

function renderReset(csrfToken: string, token: string, error: string | null): string {
  return renderBarePage(
    'Choose a new password',
    html`<h1>Choose a new password</h1>
${alertMessage(error)}
${postForm(`/password/reset/${encodeURIComponent(token)}`, csrfToken, newPasswordField('New password', error !== null), 'Change password')}
<p class="aside">Changing your password logs you out everywhere. Your second factor stays as it is.</p>`,
  );
}

function renderInvitation(csrfToken: string, token: string, email: string, error: string | null): string {
  return renderBarePage(
    'Join your team',
    html`<h1>Join your team</h1>
<p>Choose a password for <strong>${email}</strong>.</p>
${alertMessage(error)}
${postForm(`/invitations/${encodeURIComponent(token)}`, csrfToken, newPasswordField('Password', error !== null), 'Set password')}`,
  );
}

export async function linkPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const passwordBody = formBodySchema({ password: PasswordSchema });

  app.get('/password/forgot', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => sendPage(reply, 200, renderForgot(reply.generateCsrf(), '', null)));

  app.post(
    '/password/forgot',
    { config: { access: 'public' }, schema: { hide: true, body: formBodySchema({ email: EmailSchema }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { email } = readFields(request.body, ['email'] as const);
      const problem = formProblem(request);
      if (problem) return sendPage(reply, 400, renderForgot(reply.generateCsrf(), email, problem.field === 'email' ? 'Enter a valid email address.' : MALFORMED_FORM_MESSAGE));
      // Not awaited, as in the API: the answer and its timing must not depend on whether the email exists.
      requestPasswordReset(deps, email, originOf(request)).catch((error: unknown) => {
        request.log.error({ err: error instanceof Error ? error.message : String(error) }, 'password reset request failed');
      });
      return sendPage(reply, 200, renderForgotSent());
    },
  );

  app.get('/password/reset/:token', { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema }, attachValidation: true }, async (request, reply) => {
    const token = tokenOf(request);
    if (request.validationError || !(await peekLink(deps.db, deps.clock, 'password_reset', token))) return sendLinkExpired(reply, 'password_reset');
    return sendPage(reply, 200, renderReset(reply.generateCsrf(), token, null));
  });

  app.post(
    '/password/reset/:token',
    { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema, body: passwordBody }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const token = tokenOf(request);
      const again = (status: number, message: string) => sendPage(reply, status, renderReset(reply.generateCsrf(), token, message));
      if (request.validationError?.validationContext === 'params') return sendLinkExpired(reply, 'password_reset');
      if (formProblem(request)) return again(400, errorCatalog.weak_password.message);
      const { password } = readFields(request.body, ['password'] as const);
      if (!isAcceptablePassword(deps.config.policy, password)) return again(400, errorCatalog.weak_password.message);
      const outcome = await resetPassword(deps, token, password, originOf(request));
      if (!outcome.ok) {
        if (outcome.reason === 'busy') {
          reply.header('retry-after', '1');
          return again(errorCatalog.server_busy.status, errorCatalog.server_busy.message);
        }
        return sendLinkExpired(reply, 'password_reset');
      }
      return sendPage(reply, 200, renderDone('Password changed', 'Your password has been changed. Log in with your new password.'));
    },
  );

  app.get('/invitations/:token', { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema }, attachValidation: true }, async (request, reply) => {
    const token = tokenOf(request);
    const link = request.validationError ? null : await peekLink(deps.db, deps.clock, 'invitation', token);
    const user = link ? await findUserById(deps.db, link.userId) : undefined;
    if (!user) return sendLinkExpired(reply, 'invitation');
    return sendPage(reply, 200, renderInvitation(reply.generateCsrf(), token, user.email, null));
  });

  app.post(
    '/invitations/:token',
    { config: { access: 'public' }, schema: { hide: true, params: TokenParamSchema, body: passwordBody }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const token = tokenOf(request);
      if (request.validationError?.validationContext === 'params') return sendLinkExpired(reply, 'invitation');
      const again = async (status: number, message: string) => {
        // The e-mail address is shown again only while the link is still good.
        const link = await peekLink(deps.db, deps.clock, 'invitation', token);
        const user = link ? await findUserById(deps.db, link.userId) : undefined;
        if (!user) return sendLinkExpired(reply, 'invitation');
        return sendPage(reply, status, renderInvitation(reply.generateCsrf(), token, user.email, message));
      };
      if (formProblem(request)) return again(400, errorCatalog.weak_password.message);
      const { password } = readFields(request.body, ['password'] as const);
      if (!isAcceptablePassword(deps.config.policy, password)) return again(400, errorCatalog.weak_password.message);
      const outcome = await acceptInvitation(deps, token, password);
      if (!outcome.ok) {
        if (outcome.reason === 'busy') {
          reply.header('retry-after', '1');
          return again(errorCatalog.server_busy.status, errorCatalog.server_busy.message);
        }
        return sendLinkExpired(reply, 'invitation');
      }
      return sendPage(reply, 200, renderDone('Password set', 'Your password is set. Log in to start using Twofold.'));
    },
  );
}
