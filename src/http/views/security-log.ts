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
import { describeMethods, describeRole } from './descriptions.ts';
import { describeUserAgent } from '../../users/user-agent.ts';

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
  user_deactivated: 'User deactivated or reactivated',
  sms_refused: 'SMS refused',
  session_revoked: 'Session signed out',
  suspicious_activity_reported: 'Suspicious activity reported',
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

/** People's words for the detail keys events record; an unknown key is shown split into words. */
const detailKeyLabels: Record<string, string> = {
  methods: 'Methods',
  method: 'Method',
  all: 'All methods',
  replaced: 'Replaced an earlier one',
  keyName: 'Key name',
  keysLeft: 'Keys left',
  reason: 'Reason',
  stage: 'At',
  remaining: 'Recovery codes left',
  minutes: 'Minutes',
  enforce2fa: 'Two-factor authentication required',
  allowedMethods: 'Allowed methods',
  requirePhishingResistant: 'Security key required',
  affectedUsers: 'Users affected',
  from: 'From',
  to: 'To',
  role: 'Role',
  change: 'Change',
  clientId: 'Client id',
  name: 'Name',
  sessions: 'Sessions',
  current: 'Including this session',
  others: 'Every other session',
  sessionsEnded: 'Sessions ended',
  factorRemoved: 'Factor removed',
  passwordLoginBlocked: 'Password login blocked until reset',
};

const METHOD_VALUE_KEYS = new Set(['methods', 'method', 'allowedMethods', 'factorRemoved']);

function wordsOf(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function describeDetailValue(key: string, value: unknown): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return JSON.stringify(value);
  if (METHOD_VALUE_KEYS.has(key) && value !== 'none' && value !== '') return describeMethods(value.split(','));
  if (key === 'role' || key === 'from' || key === 'to') return value === 'admin' || value === 'user' ? describeRole(value) : value;
  // Stored codes ('wrong_password', 'disable_2fa') read as words; free text (names, reasons) stays as typed.
  return /^[a-z0-9]+(_[a-z0-9]+)+$/.test(value) ? value.replace(/_/g, ' ') : value;
}

/** The event's name; one type covers deactivation and reactivation, told apart by its detail. */
function eventLabel(event: SecurityEventView): string {
  if (!isSecurityEventType(event.type)) return event.type;
  if (event.type === 'user_deactivated') return event.detail.active === true ? 'User reactivated' : 'User deactivated';
  return eventTypeLabels[event.type];
}

/** Details hold no secrets (rule 30); shown as "Label: value" sentences so a reader needs no JSON. */
export function describeDetail(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${detailKeyLabels[key] ?? wordsOf(key)}: ${describeDetailValue(key, value)}`)
    .join('; ');
}

/**
 * An e-mail may wrap only between its parts — after the "@", a dot, a hyphen, an underscore or a
 * plus — never inside a word: each part keeps together, with a break opportunity after it, so a
 * narrow column holds a long address on a few lines that each read whole.
 */
function breakableEmail(email: string | null): SafeHTML | '' {
  if (!email) return '';
  const parts = email.match(/[^@.\-_+]+[@.\-_+]*|[@.\-_+]+/g) ?? [email];
  return html`${parts.map((part, index) => html`${index > 0 ? html`<wbr>` : ''}<span class="keep">${part}</span>`)}`;
}

function describeActorCell(event: SecurityEventView): SafeHTML | string {
  if (event.actor.kind === 'user' && event.actor.email) return breakableEmail(event.actor.email);
  return describeActor(event);
}

function renderEventTable(events: SecurityEventView[]): SafeHTML {
  if (events.length === 0) return html`<p class="empty">No events match these filters.</p>`;
  const rows = events.map((event) => {
    const agent = describeUserAgent(event.userAgent);
    return html`<tr>
<td>${timeElement(event.at, 'second')}</td>
<td>${eventLabel(event)}</td>
<td>${describeActorCell(event)}</td>
<td>${breakableEmail(event.subject.email)}</td>
<td class="breakable">${event.ip ?? ''}</td>
<td>${event.userAgent ? html`<span title="${event.userAgent}">${agent.label}</span>` : ''}</td>
<td class="detail">${describeDetail(event.detail)}</td>
</tr>`;
  });
  // A focusable, labelled region: a keyboard user can scroll the table if it ever overflows (WCAG 2.1.1).
  return html`<div class="table-wrap" role="region" aria-label="Security events" tabindex="0"><table class="log">
<thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Actor</th><th scope="col">Subject</th><th scope="col">IP address</th><th scope="col">Browser</th><th scope="col">Details</th></tr></thead>
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
