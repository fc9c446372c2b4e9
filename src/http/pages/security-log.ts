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
import { isSecurityEventType } from '../../audit/events.ts';
import { listSecurityEvents } from '../../audit/listing.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { findUserByEmail, findUserById } from '../../users/users.ts';
import { listPageError } from '../outcome-errors.ts';
import type { LayoutUser } from '../views/layout.ts';
import { LOG_PATH, renderSecurityLogPage, type LogFilters, type LogView } from '../views/security-log.ts';
import { sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';

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

const NO_FILTERS: LogFilters = { type: null, email: '', userId: null };

export async function securityLogPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  function sendLogPage(reply: FastifyReply, status: number, layoutUser: LayoutUser, view: LogView): FastifyReply {
    return sendPage(reply, status, renderSecurityLogPage(layoutUser, view));
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
    if (typeText !== '' && !isSecurityEventType(typeText)) return refuse('Choose an event type from the list.');
    const filters: LogFilters = { type: typeText === '' ? null : typeText, email: (query.email ?? '').trim(), userId: null };

    if (filters.email || query.userId) {
      const user = await resolveUser(session, filters.email, query.userId ?? '');
      if (!user) return sendLogPage(reply, 200, layoutUser, { filters, events: [], nextCursor: null, downloadable: false, notice: 'No user of this account matches that filter.' });
      filters.userId = user.userId;
      filters.email = user.email;
    }

    const page = await listSecurityEvents(deps.db, session.accountId, { cursor: query.cursor || null, userId: filters.userId, type: filters.type, limit: EVENTS_PER_PAGE });
    if (!page.ok) {
      const error = listPageError(page, 'security log page');
      return sendLogPage(reply, error.status, layoutUser, { filters, events: [], nextCursor: null, downloadable: false, alert: error.message });
    }
    return sendLogPage(reply, 200, layoutUser, { filters, events: page.events, nextCursor: page.nextCursor, downloadable: true });
  });
}
