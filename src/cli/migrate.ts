import type { Config } from '../config.ts';
import { openStorage } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';

export async function migrateCommand(config: Config): Promise<number> {
  const storage = openStorage(config.databaseURL);
  try {
    const { applied } = await migrateToLatest(storage.db);
    console.log(applied.length > 0 ? `Applied migrations: ${applied.join(', ')}` : 'The database is up to date.');
    return 0;
  } finally {
    await storage.close();
  }
}
