import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Deps } from '../deps.ts';

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
      return reply.code(503).send({ error: 'server_busy', message: 'The database does not answer.' });
    }
    if (!(await options.deps.limits.answers())) return reply.code(503).send({ error: 'limits_unavailable', message: 'Redis, where the rate limits count, does not answer.' });
    return { status: 'ok' };
  });
}
