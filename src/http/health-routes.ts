import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Deps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { errorBody } from './outcome-errors.ts';

/**
 * /healthz: the process serves. /readyz: the database answers too, and Redis when the limits
 * count there (without it logins and texts answer 503, so the instance is not ready).
 */
export async function healthRoutes(app: FastifyInstance, options: { deps: Deps }): Promise<void> {
  app.get('/healthz', { config: { access: 'public' }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    try {
      await sql`select 1`.execute(options.deps.db);
    } catch {
      return reply.code(503).send(errorBody(new HttpError('server_busy', { variant: 'database_not_answering' })));
    }
    if (!(await options.deps.limits.answers())) return reply.code(503).send(errorBody(new HttpError('limits_unavailable', { variant: 'redis_not_answering' })));
    return { status: 'ok' };
  });
}
