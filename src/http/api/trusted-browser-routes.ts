/** The user's own trusted browsers (PRODUCT.md §2.11, §3 "More API"): list, remove one, remove all. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { endAllTrustedBrowsers, listTrustedBrowsers, removeTrustedBrowser } from '../../trusted-browsers/trusted-browsers.ts';
import { requireSession } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { errorResponses, sessionSecurity } from './schemas.ts';

const TrustedBrowserSchema = Type.Object({
  id: Type.String({ description: 'A public handle for DELETE; never the secret the browser holds' }),
  userAgent: Type.String({ description: 'The browser it was granted to, as it named itself' }),
  ip: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Its last login without a code; null if never' }),
  expiresAt: Type.String({ format: 'date-time', description: "Fixed at grant time, or sooner if the account's setting was shortened since" }),
});

const TrustedBrowserIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false });

const iso = (ms: number): string => new Date(ms).toISOString();

export async function trustedBrowserRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  app.get(
    '/me/trusted-browsers',
    { schema: { tags: ['me'], summary: 'Your trusted browsers: each skips the code at your next password logins until it expires', security: sessionSecurity, response: { 200: Type.Object({ trustedBrowsers: Type.Array(TrustedBrowserSchema) }), ...errorResponses(401, 403) } } },
    async (request) => {
      const session = requireSession(request);
      const rows = await listTrustedBrowsers(deps.db, deps.clock, session);
      return { trustedBrowsers: rows.map((row) => ({ id: row.id, userAgent: row.userAgent, ip: row.ip, createdAt: iso(row.grantedAt), lastUsedAt: row.lastUsedAt === null ? null : iso(row.lastUsedAt), expiresAt: iso(row.expiresAt) })) };
    },
  );

  app.delete(
    '/me/trusted-browsers/:id',
    {
      schema: {
        tags: ['me'],
        summary: 'Stop trusting one of your browsers: its next login asks for the code again',
        description: '404 when you have no trusted browser with this id (another user\'s id is not found either). Written to the security log as trusted_browser_removed.',
        security: sessionSecurity,
        params: TrustedBrowserIdParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      if (!(await removeTrustedBrowser(deps.db, deps.clock, session, request.params.id, originOf(request)))) throw new HttpError('not_found');
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/me/trusted-browsers',
    {
      schema: {
        tags: ['me'],
        summary: '"Remove all": stop trusting every one of your browsers',
        description: 'Answers 204 whether or not any browser was trusted. Written to the security log as trusted_browser_removed (reason removed_all) when there was one.',
        security: sessionSecurity,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const origin = originOf(request);
      await deps.db.transaction().execute((trx) => endAllTrustedBrowsers(trx, deps.clock, session, 'removed_all', { origin }));
      return reply.code(204).send(null);
    },
  );
}
