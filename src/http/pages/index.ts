/** Server-rendered pages. Each page group registers its routes here. */
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.ts';
import type { MethodLister } from '../../login/password-step.ts';
import type { SessionCookie } from '../plugins/authentication.ts';

export interface PageOptions {
  deps: Deps;
  cookie: SessionCookie;
  listMethods: MethodLister;
}

export async function pageRoutes(app: FastifyInstance, _options: PageOptions): Promise<void> {
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => reply.redirect(request.session ? '/user' : '/login', 303));
}
