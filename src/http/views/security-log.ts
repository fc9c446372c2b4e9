/**
 * The account's security log for administrators (PRODUCT.md §2.8): the filter form, the
 * events newest first, a "Download CSV" link to the API's export with the same filters, and
 * the pager. Details hold no secrets (rule 30); every value is escaped text.
 */
import { isSecurityEventType, securityEventTypes, type SecurityEventType } from '../../audit/events.ts';
import type { SecurityEventView } from '../../audit/listing.ts';
import { alertMessage, getForm, inputField, selectField, statusMessage } from './forms.ts';
import { html, type SafeHTML } from './html.ts';
import { renderSignedInPage, type LayoutUser } from './layout.ts';
import { timeElement } from './time.ts';

export const LOG_PATH = '/settings/security-log';
const CSV_PATH = '/api/v1/account/security-log.csv';

/** People's names for the fixed list of event types (PRODUCT.md §6). */
const eventTypeLabels: Record<SecurityEventType, string> = {
  login_succeeded: 'Login succeeded',
  login_failed: 'Login failed',
  second_factor_failed: 'Second factor failed',
  second_factor_locked: 'Second factor locked',
  factor_enrolled: 'Factor enrolled',
  factor_removed: 'Factor removed',
  recovery_code_used: 'Recovery code used',
  recovery_codes_regenerated: 'Recovery codes regenerated',
  enforcement_changed: 'Enforcement changed',
  policy_changed: 'Allowed methods changed',
  disable_link_sent: 'Disable link sent',
  disable_link_used: 'Disable link used',
  support_reset: 'Support reset',
  password_reset: 'Password reset',
  user_invited: 'User invited',
  role_changed: 'Role changed',
  user_deactivated: 'User deactivated',
  user_reactivated: 'User reactivated',
  sms_refused: 'SMS refused',
  oidc_client_changed: 'Application sign-in changed',
  trusted_browser_added: 'Browser trusted',
  trusted_browser_removed: 'Trusted browser removed',
};

export interface LogFilters {
  type: SecurityEventType | null;
  /** The user filter as typed (or the email of a userId given in the URL). */
  email: string;
  userId: string | null;
}

export interface LogView {
  filters: LogFilters;
  events: SecurityEventView[];
  nextCursor: string | null;
  /** Only for filters that were understood: a CSV of the unfiltered log would mislead. */
  downloadable: boolean;
  notice?: string | null;
  alert?: string | null;
}

/** The query string for these filters, for the API's CSV export and the pager. */
function filterQuery(filters: LogFilters, cursor: string | null = null): string {
  const query = new URLSearchParams();
  if (filters.type) query.set('type', filters.type);
  if (filters.userId) query.set('userId', filters.userId);
  if (cursor) query.set('cursor', cursor);
  const text = query.toString();
  return text ? `?${text}` : '';
}

function describeActor(event: SecurityEventView): string {
  if (event.actor.kind === 'support') return 'Support (operator)';
  if (event.actor.kind === 'system') return 'System';
  return event.actor.email ?? 'Deleted user';
}

/** Details hold no secrets (rule 30); shown as "key: value" so a reader needs no JSON. */
function describeDetail(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

function renderEventTable(events: SecurityEventView[]): SafeHTML {
  if (events.length === 0) return html`<p class="empty">No events match these filters.</p>`;
  const rows = events.map(
    (event) => html`<tr>
<td class="nowrap">${timeElement(event.at, 'second')}</td>
<td class="nowrap">${isSecurityEventType(event.type) ? eventTypeLabels[event.type] : event.type}</td>
<td class="breakable">${describeActor(event)}</td>
<td class="breakable">${event.subject.email ?? ''}</td>
<td>${event.ip ?? ''}</td>
<td class="breakable user-agent">${event.userAgent ?? ''}</td>
<td>${describeDetail(event.detail)}</td>
</tr>`,
  );
  return html`<div class="table-wrap"><table class="log">
<thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Actor</th><th scope="col">Subject</th><th scope="col">IP address</th><th scope="col">User agent</th><th scope="col">Details</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`;
}

function renderFilterForm(filters: LogFilters): SafeHTML {
  const typeOptions = [{ value: '', label: 'All events' }, ...securityEventTypes.map((type) => ({ value: type, label: eventTypeLabels[type] }))];
  return getForm(LOG_PATH, [selectField({ label: 'Event type', name: 'type', value: filters.type ?? '', options: typeOptions }), inputField({ label: 'User email', name: 'email', type: 'email', value: filters.email, autocomplete: 'off', maxLength: 254 })], 'Filter');
}

export function renderSecurityLogPage(layoutUser: LayoutUser, view: LogView): string {
  const { filters } = view;
  const main = html`<h1>Security log</h1>
<p class="hint">Security events of this account, newest first. Times are in your time zone (UTC when JavaScript is off).</p>
${renderFilterForm(filters)}
${statusMessage(view.notice)}
${alertMessage(view.alert)}
${view.downloadable ? html`<p class="download"><a href="${CSV_PATH}${filterQuery(filters)}" download>Download CSV</a></p>` : ''}
${renderEventTable(view.events)}
${view.nextCursor ? html`<p class="pager"><a href="${LOG_PATH}${filterQuery(filters, view.nextCursor)}">Next page</a></p>` : ''}`;
  return renderSignedInPage('Security log', layoutUser, main);
}
