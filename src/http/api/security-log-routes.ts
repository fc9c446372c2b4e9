/** The account's security log for administrators: JSON pages and a CSV export (PRODUCT.md §2.8). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { securityEventTypes, type SecurityEventType } from '../../audit/events.ts';
import { listSecurityEvents, securityEventsToCSV } from '../../audit/listing.ts';
import type { Deps } from '../../deps.ts';
import { listPageError } from '../outcome-errors.ts';
import { requireSession } from '../plugins/authentication.ts';
import { errorResponses, sessionSecurity } from './schemas.ts';

const EventSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  at: Type.String(),
  actor: Type.Object({ kind: Type.String(), userId: Type.Union([Type.String(), Type.Null()]), email: Type.Union([Type.String(), Type.Null()]) }),
  subject: Type.Object({ userId: Type.Union([Type.String(), Type.Null()]), email: Type.Union([Type.String(), Type.Null()]) }),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Unknown()),
});

const QuerySchema = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    type: Type.Optional(Type.Union(securityEventTypes.map((type) => Type.Literal(type)))),
  },
  { additionalProperties: false },
);

export async function securityLogRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  async function readPage(request: { query: { cursor?: string; userId?: string; type?: SecurityEventType } }, accountId: string, limit: number) {
    const page = await listSecurityEvents(deps.db, accountId, { cursor: request.query.cursor ?? null, userId: request.query.userId ?? null, type: request.query.type ?? null, limit });
    if (!page.ok) throw listPageError(page);
    return page;
  }

  app.get(
    '/account/security-log',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'Security log of the account, newest first (administrators)',
        security: sessionSecurity,
        querystring: QuerySchema,
        response: { 200: Type.Object({ events: Type.Array(EventSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await readPage(request, requireSession(request).accountId, 50);
      return { events: page.events, nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/account/security-log.csv',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'The same log as CSV, up to 10,000 events per file; X-Next-Cursor names the next file',
        security: sessionSecurity,
        querystring: QuerySchema,
        produces: ['text/csv'],
        response: { 200: Type.String(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const page = await readPage(request, requireSession(request).accountId, 10_000);
      if (page.nextCursor) reply.header('x-next-cursor', page.nextCursor);
      reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="security-log.csv"');
      return securityEventsToCSV(page.events);
    },
  );
}
