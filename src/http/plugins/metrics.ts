/**
 * Prometheus exposition at GET /metrics and the request-latency histogram behind it.
 *
 * Off unless METRICS_TOKEN is set: then there is no route (404) and no per-request hook at all.
 * When on, the scraper sends `Authorization: Bearer <token>`, compared in constant time.
 * Requests are labelled by route pattern, never the raw URL: URLs carry link tokens and would
 * give one series per token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Metrics } from '../../metrics/metrics.ts';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Equal-length digests, so neither the length nor the first differing byte shows in the timing. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer ([^\s]+)$/i.exec(header ?? '');
  return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
}

const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'];

interface MetricsOptions {
  metrics: Metrics;
  token: string | null;
}

/** The latency hook, registered first so it times every request, the refused ones included. */
async function requestTiming(app: FastifyInstance, options: MetricsOptions): Promise<void> {
  if (options.token === null) return;
  const { httpRequestDuration } = options.metrics;
  app.addHook('onResponse', (request, reply, done) => {
    // routeOptions.url is the pattern (/api/v1/links/:token); unmatched requests have none.
    const route = request.routeOptions.url ?? 'unmatched';
    const statusClass = statusClasses[Math.floor(reply.statusCode / 100) - 1] ?? 'other';
    httpRequestDuration.observe({ method: request.method, route, status_class: statusClass }, reply.elapsedTime / 1000);
    done();
  });
}

/** GET /metrics, registered after the authentication guard so it sits in the guard's route table. */
export async function metricsRoute(app: FastifyInstance, options: MetricsOptions): Promise<void> {
  if (options.token === null) return;
  const { registry } = options.metrics;
  const expected = digest(options.token);
  app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    if (!bearerMatches(request.headers.authorization, expected)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthenticated', message: 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".' });
    }
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}

export const requestTimingPlugin = fp(requestTiming, { name: 'twofold-request-timing' });
