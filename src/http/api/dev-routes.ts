/** The development outbox over the API; registered only while the outbox exists. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Outbox } from '../../delivery/outbox.ts';
import { publicSecurity } from './schemas.ts';

export const OutboxMessageSchema = Type.Object({
  channel: Type.Union([Type.Literal('email'), Type.Literal('sms')]),
  to: Type.String(),
  subject: Type.Union([Type.String(), Type.Null()]),
  body: Type.String(),
  createdAt: Type.String(),
});

export async function devRoutes(parent: FastifyInstance, options: { outbox: Outbox }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/dev/outbox',
    {
      config: { access: 'public' },
      schema: { tags: ['development'], summary: 'Development outbox: e-mails and texts, newest first', security: publicSecurity, response: { 200: Type.Object({ messages: Type.Array(OutboxMessageSchema) }) } },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { messages: options.outbox.list() };
    },
  );
}
