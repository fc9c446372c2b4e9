/**
 * The store @fastify/rate-limit's coarse per-IP flood guard counts in when the limit counters
 * are shared by every instance (Redis): each request is one `floodGuardHit` on the counters.
 * The plugin is registered with skipOnError, so a store that does not answer lets the request
 * through: unlike the security limits, the flood guard does not fail closed (see app.ts).
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { LimitCounters } from '../../limits/limit-counters.ts';

/** The shared store for the flood guard, or undefined for the plugin's own per-instance memory. */
export function floodGuardStore(counters: LimitCounters): FastifyRateLimitStoreCtor | undefined {
  if (!counters.floodGuardHit) return undefined;
  const hit = counters.floodGuardHit.bind(counters);
  return class SharedFloodGuardStore implements FastifyRateLimitStore {
    constructor(_options?: unknown, private readonly routePrefix = '') {}
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      hit(`${this.routePrefix}${key}`, timeWindow).then(
        ({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }),
        (error: Error) => callback(error),
      );
    }
    // A route with its own rateLimit settings counts apart from the rest, as in the plugin's RedisStore.
    child(routeOptions: object): FastifyRateLimitStore {
      const route = (routeOptions as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo;
      return new SharedFloodGuardStore(undefined, `${String(route?.method ?? '')}${String(route?.url ?? '')}-`);
    }
  };
}
