/**
 * Settings > Users (PRODUCT.md §2.1, §2.6): the account's users, each linking to the admin's
 * view of that user, a search by email, and the invitation form.
 */
import type { ListedUser } from '../../users/listing.ts';
import { describeMethods, describeRole } from './descriptions.ts';
import { timeElement } from './time.ts';
import { alertMessage, getForm, inputField, postForm, selectField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';
import { userAdminPath } from './user-admin.ts';

export const USERS_PATH = '/settings/users';
/** The users as CSV; `?twoFactor=missing`: those staged enforcement affects. */
export const USERS_CSV_PATH = '/settings/users.csv';
export const WITHOUT_2FA_PATH = `${USERS_PATH}?twoFactor=missing`;
export const WITHOUT_2FA_CSV_PATH = `${USERS_CSV_PATH}?twoFactor=missing`;

interface UserRow {
  user: ListedUser;
  methods: string[];
}

type InviteValues = Record<'email' | 'name' | 'role', string>;

export interface InviteState {
  values: Partial<InviteValues>;
  error: { message: string; field?: string } | null;
  confirmation: string | null;
}

interface UsersView {
  rows: UserRow[];
  /** The email prefix searched for, '' for none. */
  search: string;
  nextCursor: string | null;
  /** While the account enforces 2FA: active users without a factor; otherwise null. */
  waiting: number | null;
  invite: InviteState;
  invitationDays: number;
  /** The "Without 2FA" filter: only the users enforcement affects. */
  missingOnly?: boolean;
}

function renderUserTable(rows: UserRow[], nextHref: string | null): SafeHTML {
  const body = rows.map(
    ({ user, methods }) => html`<tr>
<td><a href="${userAdminPath(user.id)}">${user.email}</a></td>
<td>${user.name}${user.active === 1 ? '' : html` <span class="tag">Deactivated</span>`}${user.invited === 1 ? html` <span class="tag">Invited</span>` : ''}</td>
<td>${describeRole(user.role)}</td>
<td>${describeMethods(methods)}</td>
<td>${timeElement(user.last_login_at)}</td>
</tr>`,
  );
  return html`<div class="table-wrap"><table>
<thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Two-Factor Authentication</th><th scope="col">Last login</th></tr></thead>
<tbody>${body}</tbody>
</table></div>
${nextHref ? html`<p class="pager"><a href="${nextHref}">Next page</a></p>` : ''}`;
}

function renderInviteForm(csrfToken: string, state: InviteState, invitationDays: number): SafeHTML {
  const invalid = (field: string) => state.error?.field === field;
  return html`<section class="panel" aria-labelledby="invite-heading">
<h2 id="invite-heading">Invite user</h2>
<p>The person receives an e-mail with a link to choose a password. The link works once, for ${invitationDays} days.</p>
${statusMessage(state.confirmation)}
${alertMessage(state.error?.message)}
${postForm(USERS_PATH, csrfToken, [
  inputField({ label: 'Email', name: 'email', type: 'email', value: state.values.email, autocomplete: 'off', required: true, maxLength: 254, invalid: invalid('email') }),
  inputField({ label: 'Name', name: 'name', value: state.values.name, autocomplete: 'off', required: true, maxLength: 200, invalid: invalid('name') }),
  selectField({ label: 'Role', name: 'role', value: state.values.role || 'user', options: [{ value: 'user', label: 'User' }, { value: 'admin', label: 'Administrator' }] }),
], 'Invite')}
</section>`;
}

/** The "Without 2FA" filter (staged enforcement, PRODUCT.md §2.10): plain links, so it works without JavaScript. */
function renderTwoFactorFilter(missingOnly: boolean): SafeHTML {
  const all = missingOnly ? html`<a href="${USERS_PATH}">All users</a>` : html`<strong aria-current="page">All users</strong>`;
  const missing = missingOnly ? html`<strong aria-current="page">Without 2FA</strong>` : html`<a href="${WITHOUT_2FA_PATH}">Without 2FA</a>`;
  return html`<p class="filters">Show: ${all} · ${missing}${missingOnly ? html` · <a href="${WITHOUT_2FA_CSV_PATH}">Download CSV</a>` : ''}</p>`;
}

export function renderUsersPage(layoutUser: LayoutUser, view: UsersView): string {
  const { waiting, search } = view;
  const nextHref = view.nextCursor ? `${USERS_PATH}?cursor=${encodeURIComponent(view.nextCursor)}${search ? `&email=${encodeURIComponent(search)}` : ''}${view.missingOnly ? '&twoFactor=missing' : ''}` : null;
  const main = html`<h1>Users</h1>
${waiting === null ? '' : html`<p class="notice" role="status">Two-factor authentication is required in this account. ${waiting === 0 ? 'Every active user has set it up.' : `${waiting} active ${waiting === 1 ? 'user has' : 'users have'} not set it up yet; they will be asked to at their next request.`}</p>`}
${getForm(USERS_PATH, inputField({ label: 'Search by email', name: 'email', id: 'user-search', type: 'text', value: search, maxLength: 254 }), 'Search')}
${renderTwoFactorFilter(view.missingOnly === true)}
${renderUserTable(view.rows, nextHref)}
${renderInviteForm(layoutUser.csrfToken, view.invite, view.invitationDays)}`;
  return renderSignedInPage('Users', layoutUser, main);
}
