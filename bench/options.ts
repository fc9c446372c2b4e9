/**
 * Command-line options of `npm run bench`, and the sizes each mode uses.
 *
 *   --quick              tiny sizes and 0.3-second loads: a smoke run (CI, npm test) that every
 *                        part works; its figures are not meant to be read
 *   --users N            users in the large database of the scale comparison (default 100,000;
 *                        1,000,000 is the figure and takes a few minutes)
 *   --base-users N       users in the small database it is compared with (default 1,000)
 *   --seconds S          length of each measured load (default 10, quick 0.3)
 *   --databases a,b      sqlite, postgres or both (default both)
 *   --out PATH           where results.json goes (default bench/results.json; a .md table beside it)
 *   --cpu-prof DIR       write V8 CPU profiles of the server processes into DIR
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { DatabaseKind } from '../test/helpers/databases.ts';

export interface BenchOptions {
  quick: boolean;
  seconds: number;
  warmupSeconds: number;
  databases: DatabaseKind[];
  out: string;
  cpuProfileDir: string | null;
  /** Connections of the as-fast-as-possible loads (bare route, session check, second step, Users page). */
  connections: number;
  /** Workers running full password + TOTP logins back to back. */
  fullLoginConcurrency: number;
  /** Connections flooding POST /login while the session check runs at a fixed rate. */
  floodConnections: number;
  /** Fixed rate (requests/s) of the session check compared idle and during the flood. */
  sessionCheckRate: number;
  /** Connections of the password-step load in the scale comparison. */
  loginConnections: number;
  verifyPool: number;
  fullLoginPool: number;
  sessionTokens: number;
  loginEmails: number;
  scaleBaseUsers: number;
  scaleUsers: number;
}

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${text}"`);
  return value;
}

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got "${text}"`);
  return value;
}

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      users: { type: 'string' },
      'base-users': { type: 'string' },
      seconds: { type: 'string' },
      databases: { type: 'string', default: 'sqlite,postgres' },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const databases = (values.databases ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of databases) if (name !== 'sqlite' && name !== 'postgres') throw new Error(`--databases takes sqlite and/or postgres, got "${name}"`);
  if (databases.length === 0) throw new Error('--databases needs at least one of sqlite, postgres');
  // Quick loads are as short as still gives every measurement some requests: the smoke run
  // checks that each part works and writes its row, and it runs in every `npm test`.
  const seconds = positiveNumber('--seconds', values.seconds, quick ? 0.3 : 10);
  const scaleBaseUsers = positiveInteger('--base-users', values['base-users'], quick ? 300 : 1000);
  const scaleUsers = positiveInteger('--users', values.users, quick ? 3000 : 100_000);
  if (scaleUsers < scaleBaseUsers) throw new Error('--users must be at least --base-users');
  const sessionTokens = quick ? 50 : 200;
  const loginEmails = quick ? 50 : 200;
  if (scaleBaseUsers < 2 * (sessionTokens + loginEmails)) throw new Error(`--base-users must be at least ${2 * (sessionTokens + loginEmails)}`);
  return {
    quick,
    seconds,
    warmupSeconds: quick ? 0.1 : 3,
    databases: databases as DatabaseKind[],
    out: values.out ?? fileURLToPath(new URL('./results.json', import.meta.url)),
    cpuProfileDir: values['cpu-prof'] ?? null,
    connections: 50,
    fullLoginConcurrency: 16,
    floodConnections: 50,
    sessionCheckRate: quick ? 200 : 500,
    loginConnections: 8,
    // Each second-step request spends one (session, code) pair; sized above what the run can use.
    verifyPool: quick ? 2000 : Math.max(40_000, seconds * 5000),
    fullLoginPool: quick ? 200 : Math.max(3000, seconds * 300),
    sessionTokens,
    loginEmails,
    scaleBaseUsers,
    scaleUsers,
  };
}
