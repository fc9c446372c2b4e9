/**
 * Everything the domain and HTTP layers need, built once in main/app and passed down explicitly
 * (no module-level singletons). Tests build their own with a manual clock and real databases.
 */
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Keys } from './crypto/keys.ts';
import type { Delivery, DeliveryLog } from './delivery/delivery.ts';
import type { LimitCounters } from './limits/limit-counters.ts';
import type { Metrics } from './metrics/metrics.ts';
import type { PasswordHasher } from './crypto/password-hasher.ts';
import type { Database } from './storage/schema.ts';

export interface Deps {
  db: Database;
  clock: Clock;
  config: Config;
  keys: Keys;
  hasher: PasswordHasher;
  delivery: Delivery;
  /** Per-IP limits and SMS caps: Redis when REDIS_URL is set, else the database. */
  limits: LimitCounters;
  /** This app's Prometheus registry and counters (served at /metrics when METRICS_TOKEN is set). */
  metrics: Metrics;
  log: DeliveryLog & { warn(fields: Record<string, unknown>, message: string): void };
}
