import type { FastifyRequest } from 'fastify';
import type { RequestOrigin } from '../audit/events.ts';

/**
 * The client's IP and user agent. request.ip honours X-Forwarded-For only from the configured
 * TRUSTED_PROXIES (Fastify's trustProxy); other client-IP headers are never read (rule 2).
 */
export function originOf(request: FastifyRequest): RequestOrigin & { ip: string } {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null };
}

export function isAPIRequest(request: FastifyRequest): boolean {
  return request.url.startsWith('/api/');
}
