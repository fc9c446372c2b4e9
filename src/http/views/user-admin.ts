/**
 * An administrator's view of one user of their account (PRODUCT.md §2.6): details, 2FA status,
 * the disable link, changing the role and deactivating.
 */
import { deliveryKindNames, describeDelivery, type PersonDelivery } from '../../users/deliveries.ts';
import type { User } from '../../users/users.ts';
import { describeMethods, describeRole } from './descriptions.ts';
import { timeElement } from './time.ts';
import { alertMessage, postForm, selectField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';
import { renderPasswordConfirmation } from './password-confirmation.ts';

export function userAdminPath(userId: string): string {
  return `/settings/users/${encodeURIComponent(userId)}`;
}

function describeStatus(user: User): string {
  if (user.active !== 1) return 'Deactivated';
  return user.password_hash === null ? 'Invited (has not set a password yet)' : 'Active';
}

export interface UserAdminView {
  user: User;
  methods: string[];
  /** Whether the admin's own session is recent enough for the disable link (rule 28). */
  recentlyAuthenticated: boolean;
  /** The admin is looking at their own page: no disable link or deactivation for herself. */
  isSelf: boolean;
  /** The newest invitation, verification, reset and disable-link e-mails and how they went (issue 17). */
  deliveries: PersonDelivery[];
  notice?: string | null;
  alert?: string | null;
}

/**
 * The admin's only lever on another user's 2FA: e-mail THEM a link (PRODUCT.md §2.6). It needs a
 * recent password entry (rule 28), so a stale session sees the password form in its place.
 */
function renderTwoFactorActions(csrfToken: string, user: User, methods: string[], recent: boolean, isSelf: boolean): SafeHTML | '' {
  if (methods.length === 0 || user.active !== 1) return '';
  if (isSelf) return html`<p>This is you: manage your own two-factor authentication from <a href="/user">User Details</a>.</p>`;
  const path = userAdminPath(user.id);
  if (!recent) {
    return renderPasswordConfirmation({ csrfToken, next: path, headingLevel: 3, reason: `Sending ${user.name} a link to turn off two-factor authentication needs your password again.` });
  }
  return html`<p>If ${user.name} lost the device they use for two-factor authentication, send them a link by e-mail. Only they receive it; it works once, for 24 hours, with their own password. You cannot turn their 2FA off yourself.</p>
${postForm(`${path}/2fa-disable-link`, csrfToken, [], 'Send link to disable 2FA')}`;
}

/** Whether the e-mails that let the user in reached the mail server, and "Resend invitation" while it is pending. */
function renderDeliveries(csrfToken: string, user: User, deliveries: PersonDelivery[]): SafeHTML {
  const list =
    deliveries.length === 0
      ? html`<p>No e-mail has been sent to ${user.name} yet.</p>`
      : html`<dl class="details">${deliveries.map((delivery) => html`<dt>${deliveryKindNames[delivery.kind]}</dt><dd>${describeDelivery(delivery)}</dd>`)}</dl>`;
  const resend =
    user.password_hash === null && user.active === 1
      ? html`<p>${user.name} has not accepted the invitation yet. A new invitation replaces the old link.</p>
${postForm(`${userAdminPath(user.id)}/invitation`, csrfToken, [], 'Resend invitation')}`
      : '';
  return html`<section class="panel" aria-labelledby="emails-heading">
<h2 id="emails-heading">E-mails</h2>
${list}
${resend}
</section>`;
}

export function renderUserAdminPage(layoutUser: LayoutUser, view: UserAdminView): string {
  const { user, methods } = view;
  const csrfToken = layoutUser.csrfToken;
  const path = userAdminPath(user.id);
  const deactivate = renderActivePart(csrfToken, user, view.isSelf);
  const main = html`<p class="breadcrumb"><a href="/settings/users">Users</a></p>
<h1>${user.name}</h1>
${statusMessage(view.notice)}
${alertMessage(view.alert)}
<dl class="details">
<dt>Name</dt><dd>${user.name}</dd>
<dt>Email</dt><dd>${user.email}</dd>
<dt>Role</dt><dd>${describeRole(user.role)}</dd>
<dt>Status</dt><dd>${describeStatus(user)}</dd>
<dt>Last login</dt><dd>${timeElement(user.last_login_at)}</dd>
</dl>
<section class="panel" aria-labelledby="two-factor-heading">
<h2 id="two-factor-heading">Two-Factor Authentication</h2>
<p>Status: <strong class="${methods.length > 0 ? 'status-on' : 'status-off'}">${describeMethods(methods)}</strong></p>
<div id="admin-two-factor-actions">${renderTwoFactorActions(csrfToken, user, methods, view.recentlyAuthenticated, view.isSelf)}</div>
</section>
${renderDeliveries(csrfToken, user, view.deliveries)}
<section class="panel" aria-labelledby="role-heading">
<h2 id="role-heading">Change role</h2>
${postForm(`${path}/role`, csrfToken, selectField({ label: 'Role', name: 'role', value: user.role, options: [{ value: 'user', label: 'User' }, { value: 'admin', label: 'Administrator' }] }), 'Change role')}
</section>
${deactivate}`;
  return renderSignedInPage(user.name, layoutUser, main);
}

/**
 * Deactivation (issue 17): the button only opens a confirmation step (a GET, so it works
 * without JavaScript and changes nothing); a deactivated user gets "Reactivate user" instead.
 * An admin's own page offers neither: deactivating herself would lock her out at once.
 */
function renderActivePart(csrfToken: string, user: User, isSelf: boolean): SafeHTML | '' {
  if (isSelf) return '';
  const path = userAdminPath(user.id);
  if (user.active !== 1) {
    return html`<section class="panel" aria-labelledby="reactivate-heading">
<h2 id="reactivate-heading">Reactivate user</h2>
<p>This user is deactivated and cannot log in. Reactivating lets them log in again with their password and second factor.</p>
${postForm(`${path}/reactivate`, csrfToken, [], 'Reactivate user')}
</section>`;
  }
  return html`<section class="panel" aria-labelledby="deactivate-heading">
<h2 id="deactivate-heading">Deactivate user</h2>
<p>A deactivated user is logged out everywhere at once and can no longer log in. You can reactivate them later.</p>
<form method="get" action="${path}/deactivate" class="inline-action"><button type="submit" class="danger">Deactivate user</button></form>
</section>`;
}

/** The confirmation step of "Deactivate user": says what happens, then the POST or a way back. */
export function renderDeactivateConfirmation(layoutUser: LayoutUser, user: User): string {
  const path = userAdminPath(user.id);
  const main = html`<p class="breadcrumb"><a href="/settings/users">Users</a> › <a href="${path}">${user.name}</a></p>
<h1>Deactivate ${user.name}?</h1>
<p>${user.name} (${user.email}) will be logged out everywhere at once, including the applications that use Twofold to log in, and can no longer log in until an administrator reactivates them.</p>
${postForm(`${path}/deactivate`, layoutUser.csrfToken, [], 'Deactivate user', 'danger')}
<p><a href="${path}">Cancel</a></p>`;
  return renderSignedInPage(`Deactivate ${user.name}`, layoutUser, main);
}
