/**
 * A user's own sessions (PRODUCT.md §2.11, §3 "More API"): list, sign out one, sign out every
 * other. A session is named by its public id — never its token or the token's hash.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { HttpError } from '../../errors.ts';
import { listUserSessions, signOutOtherSessions, signOutSession } from '../../sessions/session-list.ts';
import { describeUserAgent } from '../../users/user-agent.ts';
import { requireSession } from '../plugins/authentication.ts';
import { originOf } from '../request-origin.ts';
import { errorResponses, sessionSecurity } from './schemas.ts';

const SessionSchema = Type.Object({
  id: Type.String({ description: 'Public id of the session (never its token)' }),
  browser: Type.String({ description: 'Browser family from the user agent ("Chrome", "Unknown browser")' }),
  os: Type.String({ description: 'Operating system from the user agent ("macOS", "Unknown system")' }),
  ip: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time', description: 'Refreshed at most once a minute' }),
  current: Type.Boolean({ description: 'The session making this request' }),
});

/** Session ids are UUIDs; anything else names no session (404), never a 500. */
const SessionIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false });

export async function sessionRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  app.get(
    '/me/sessions',
    {
      schema: {
        tags: ['me'],
        summary: 'Your sessions, most recently active first',
        security: sessionSecurity,
        response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }), ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const sessions = await listUserSessions(deps.db, session);
      reply.header('cache-control', 'no-store');
      return {
        sessions: sessions.map((entry) => {
          const agent = describeUserAgent(entry.userAgent);
          return { id: entry.id, browser: agent.browser, os: agent.os, ip: entry.ip, createdAt: new Date(entry.createdAt).toISOString(), lastSeenAt: new Date(entry.lastSeenAt).toISOString(), current: entry.current };
        }),
      };
    },
  );

  app.delete(
    '/me/sessions/:id',
    {
      schema: {
        tags: ['me'],
        summary: 'Sign out one of your sessions',
        description: 'Also ends your sign-ins to applications (back-channel logout). 404 not_found for an id that is not one of your sessions.',
        security: sessionSecurity,
        params: SessionIdParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const session = requireSession(request);
      const outcome = await signOutSession(deps, session, request.params.id, originOf(request));
      if (!outcome.ok) throw new HttpError('not_found');
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/me/sessions',
    {
      schema: {
        tags: ['me'],
        summary: 'Sign out every other session of yours (this one stays)',
        description: 'Also ends your sign-ins to applications (back-channel logout).',
        security: sessionSecurity,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      await signOutOtherSessions(deps, requireSession(request), originOf(request));
      return reply.code(204).send(null);
    },
  );
}
