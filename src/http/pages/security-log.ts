/**
 * The account's security log for administrators (PRODUCT.md §2.8): newest first, a page at a
 * time, filtered by event type and by user. It reads through listSecurityEvents, the same call
 * as GET /api/v1/account/security-log, which is always scoped to the admin's account; the
 * "Download CSV" link points at the API's CSV export with the same filters (the API takes the
 * page session cookie for GET).
 *
 * The filters travel in the URL (a GET form), so a filtered view can be bookmarked and paged.
 * A user filter given as an email is resolved to that user's id within the account; an email
 * of another account matches nobody here, the same as one that does not exist.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { securityEventTypes, type SecurityEventType } from '../../audit/events.ts';
import { listSecurityEvents, type SecurityEventView } from '../../audit/listing.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { findUserByEmail, findUserById } from '../../users/users.ts';
import { alertMessage, getForm, inputField, selectField, statusMessage } from '../views/forms.ts';
import { html, type SafeHTML } from '../views/html.ts';
import { renderSignedInPage, type LayoutUser } from '../views/layout.ts';
import { sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';

const LOG_PATH = '/settings/security-log';
const CSV_PATH = '/api/v1/account/security-log.csv';
const EVENTS_PER_PAGE = 50;

const QuerySchema = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    // '' is the "All events" choice of the select; other values are checked against the fixed list.
    type: Type.Optional(Type.String({ maxLength: 64 })),
    email: Type.Optional(Type.String({ maxLength: 254 })),
    userId: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

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
  disable_link_sent: 'Disable link sent',
  disable_link_used: 'Disable link used',
  support_reset: 'Support reset',
  password_reset: 'Password reset',
  user_invited: 'User invited',
  role_changed: 'Role changed',
  user_deactivated: 'User deactivated',
  sms_refused: 'SMS refused',
};

function isEventType(value: string): value is SecurityEventType {
  return (securityEventTypes as readonly string[]).includes(value);
}

interface Filters {
  type: SecurityEventType | null;
  /** The user filter as typed (or the email of a userId given in the URL). */
  email: string;
  userId: string | null;
}

/** The query string for these filters, for the API's CSV export and the pager. */
function filterQuery(filters: Filters, cursor: string | null = null): string {
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
<td class="nowrap"><time datetime="${event.at}">${event.at.slice(0, 19).replace('T', ' ')} UTC</time></td>
<td class="nowrap">${isEventType(event.type) ? eventTypeLabels[event.type] : event.type}</td>
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

function renderFilterForm(filters: Filters): SafeHTML {
  const typeOptions = [{ value: '', label: 'All events' }, ...securityEventTypes.map((type) => ({ value: type, label: eventTypeLabels[type] }))];
  return getForm(LOG_PATH, [selectField({ label: 'Event type', name: 'type', value: filters.type ?? '', options: typeOptions }), inputField({ label: 'User email', name: 'email', type: 'email', value: filters.email, autocomplete: 'off', maxLength: 254 })], 'Filter');
}

interface LogView {
  filters: Filters;
  events: SecurityEventView[];
  nextCursor: string | null;
  /** Only for filters that were understood: a CSV of the unfiltered log would mislead. */
  downloadable: boolean;
  notice?: string | null;
  alert?: string | null;
}

function renderLog(view: LogView): SafeHTML {
  const { filters } = view;
  return html`<h1>Security log</h1>
<p class="hint">Security events of this account, newest first. Times are UTC.</p>
${renderFilterForm(filters)}
${statusMessage(view.notice)}
${alertMessage(view.alert)}
${view.downloadable ? html`<p class="download"><a href="${CSV_PATH}${filterQuery(filters)}" download>Download CSV</a></p>` : ''}
${renderEventTable(view.events)}
${view.nextCursor ? html`<p class="pager"><a href="${LOG_PATH}${filterQuery(filters, view.nextCursor)}">Next page</a></p>` : ''}`;
}

const NO_FILTERS: Filters = { type: null, email: '', userId: null };

export async function securityLogPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  function sendLogPage(reply: FastifyReply, status: number, layoutUser: LayoutUser, view: LogView): FastifyReply {
    return sendPage(reply, status, renderSignedInPage('Security log', layoutUser, renderLog(view)));
  }

  /** The user filter within the account: an email or an id outside it matches nobody. */
  async function resolveUser(session: SessionContext, email: string, userId: string): Promise<{ userId: string; email: string } | null> {
    const user = email ? await findUserByEmail(deps.db, email) : await findUserById(deps.db, userId);
    return user && user.account_id === session.accountId ? { userId: user.id, email: user.email } : null;
  }

  app.get(LOG_PATH, { config: { role: 'admin' }, schema: { hide: true, querystring: QuerySchema }, attachValidation: true }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    const refuse = (message: string) => sendLogPage(reply, 400, layoutUser, { filters: NO_FILTERS, events: [], nextCursor: null, downloadable: false, alert: message });
    if (request.validationError) return refuse('These filters could not be read. Choose them again.');
    const query = request.query as { cursor?: string; type?: string; email?: string; userId?: string };
    const typeText = query.type ?? '';
    if (typeText !== '' && !isEventType(typeText)) return refuse('Choose an event type from the list.');
    const filters: Filters = { type: typeText === '' ? null : typeText, email: (query.email ?? '').trim(), userId: null };

    if (filters.email || query.userId) {
      const user = await resolveUser(session, filters.email, query.userId ?? '');
      if (!user) return sendLogPage(reply, 200, layoutUser, { filters, events: [], nextCursor: null, downloadable: false, notice: 'No user of this account matches that filter.' });
      filters.userId = user.userId;
      filters.email = user.email;
    }

    const page = await listSecurityEvents(deps.db, session.accountId, { cursor: query.cursor || null, userId: filters.userId, type: filters.type, limit: EVENTS_PER_PAGE });
    if (!page.ok) return sendLogPage(reply, 400, layoutUser, { filters, events: [], nextCursor: null, downloadable: false, alert: 'This page of the log does not exist. Start again from the first page.' });
    return sendLogPage(reply, 200, layoutUser, { filters, events: page.events, nextCursor: page.nextCursor, downloadable: true });
  });
}
