/**
 * The development outbox as a page (PRODUCT.md §5). Registered only while the outbox exists,
 * which is never in production.
 */
import type { FastifyInstance } from 'fastify';
import type { Outbox } from '../../delivery/outbox.ts';
import { renderOutboxPage } from '../views/outbox.ts';
import { sendPage } from './form-input.ts';

export async function outboxPages(app: FastifyInstance, options: { outbox: Outbox }): Promise<void> {
  app.get('/dev/outbox', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => sendPage(reply, 200, renderOutboxPage(options.outbox.list())));
}
