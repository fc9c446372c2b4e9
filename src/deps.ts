/**
 * Everything the domain and HTTP layers need, built once in main/app and passed down explicitly
 * (no module-level singletons). Tests build their own with a manual clock and real databases.
 */
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Keys } from './crypto/keys.ts';
import type { Delivery, DeliveryLog } from './delivery/delivery.ts';
import type { PasswordHasher } from './passwords/hasher.ts';
import type { DialectName } from './storage/database.ts';
import type { Database } from './storage/schema.ts';

export interface Deps {
  db: Database;
  dialect: DialectName;
  clock: Clock;
  config: Config;
  keys: Keys;
  hasher: PasswordHasher;
  delivery: Delivery;
  log: DeliveryLog & { warn(fields: Record<string, unknown>, message: string): void };
}
