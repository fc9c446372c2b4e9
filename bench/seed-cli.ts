/**
 * `npm run bench:seed -- --database-url <url> --users 1000000`: fills an empty database the way
 * the benchmark does (one account of up to 100,000 users, the rest in accounts of 100, all with
 * the password "benchmark password"), for profiling or trying the server by hand.
 * ENCRYPTION_KEY must be the key the server will run with (default: the tests' key).
 */
import { parseArgs } from 'node:util';
import { TEST_ENCRYPTION_KEY } from '../test/helpers/server.ts';
import { seedDatabase } from './seed.ts';

const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, users: { type: 'string', default: '1000000' }, sessions: { type: 'string', default: '1000' } } });
const databaseURL = values['database-url'];
if (!databaseURL) {
  console.error('Usage: npm run bench:seed -- --database-url sqlite:/tmp/bench.db --users 1000000');
  process.exit(2);
}
const totalUsers = Number(values.users);
const sessions = Number(values.sessions);
if (!Number.isInteger(totalUsers) || totalUsers < 10 || !Number.isInteger(sessions) || sessions < 0 || sessions >= totalUsers / 2) {
  console.error('--users must be a whole number of at least 10 and --sessions less than half of it');
  process.exit(2);
}
const started = performance.now();
const seeded = await seedDatabase(databaseURL, process.env.ENCRYPTION_KEY ?? TEST_ENCRYPTION_KEY, {
  totalUsers,
  bigAccountUsers: Math.min(100_000, Math.max(1, Math.floor(totalUsers / 10))),
  accountSize: 100,
  verifyPool: 0,
  fullLoginPool: 0,
  completeSessions: sessions,
  loginEmails: 0,
});
console.log(`Seeded ${totalUsers} users in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
console.log(`Administrator of the big account (user-00000001@bench.example), bearer token: ${seeded.adminToken}`);
