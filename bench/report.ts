/**
 * The benchmark's rows, the targets of issue #7 they are judged against, the printed table and
 * results.json (with the machine it ran on, since absolute figures mean little without it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { DatabaseKind } from '../test/helpers/databases.ts';
import type { LoadFigures } from './load.ts';

export interface ResultRow {
  database: DatabaseKind;
  /** Stable key, the same in every run (the smoke test looks rows up by it). */
  id: string;
  measurement: string;
  requestsPerSecond: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number | null;
  /** What the errors were, where the load generator can tell. */
  errorKinds?: Record<string, number>;
  /** Resident memory, for the memory rows. */
  megabytes: number | null;
  /** A duration, for the timing rows (the time to the first /healthz answer). */
  milliseconds?: number | null;
  ratio: number | null;
  /** What the ratio compares, e.g. "÷ bare req/s". */
  ratioOf: string | null;
  target: string | null;
  met: boolean | null;
}

/** Every row id a complete run writes for each database. */
export const ROW_IDS = [
  'bare-route',
  'session-check',
  'login-verify',
  'full-login',
  'session-check-rate-idle',
  'session-check-rate-during-flood',
  'password-login-flood',
  'rss-idle',
  'rss-peak',
  'healthz-after-start',
  'scale-base-login',
  'scale-base-session-check',
  'scale-base-users-page',
  'scale-large-login',
  'scale-large-session-check',
  'scale-large-users-page',
  'scale-large-users-page-vs-bare',
  'issue18-login-verify',
  'issue18-bare-argon2id',
  'issue18-full-login',
  'issue18-session-check-during-flood',
] as const;

/** Rows holding one value (memory or time) instead of a load's figures. */
export const SINGLE_VALUE_ROWS: ReadonlySet<RowId> = new Set(['rss-idle', 'rss-peak', 'healthz-after-start']);

export type RowId = (typeof ROW_IDS)[number];

export function loadRow(database: DatabaseKind, id: RowId, measurement: string, figures: LoadFigures, judged?: { ratio: number; ratioOf: string; target?: string; met?: boolean }): ResultRow {
  return {
    database,
    id,
    measurement,
    requestsPerSecond: figures.requestsPerSecond,
    p50Ms: figures.p50Ms,
    p99Ms: figures.p99Ms,
    errors: figures.errors,
    ...(figures.errorKinds && figures.errors > 0 ? { errorKinds: figures.errorKinds } : {}),
    megabytes: null,
    ratio: judged?.ratio ?? null,
    ratioOf: judged?.ratioOf ?? null,
    target: judged?.target ?? null,
    met: judged?.met ?? null,
  };
}

export function memoryRow(database: DatabaseKind, id: RowId, measurement: string, megabytes: number, target?: { text: string; met: boolean }): ResultRow {
  return { database, id, measurement, requestsPerSecond: null, p50Ms: null, p99Ms: null, errors: null, megabytes, ratio: null, ratioOf: null, target: target?.text ?? null, met: target?.met ?? null };
}

export function timeRow(database: DatabaseKind, id: RowId, measurement: string, milliseconds: number, target?: { text: string; met: boolean }): ResultRow {
  return { ...memoryRow(database, id, measurement, 0, target), megabytes: null, milliseconds };
}

export interface Machine {
  cpuModel: string;
  cpuCount: number;
  totalMemoryGB: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started: other work on the machine skews the figures. */
  loadAverageAtStart: number;
}

export function describeMachine(): Machine {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cpuCount: processors.length,
    totalMemoryGB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()}`,
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

export interface BenchResults {
  date: string;
  mode: 'quick' | 'full';
  machine: Machine;
  settings: Record<string, unknown>;
  rows: ResultRow[];
  /** Per server process: lines it logged at error level (a 500, an unhandled rejection). */
  serverErrors: Array<{ server: string; lines: number; first: string | null }>;
}

const number = (value: number | null, digits = 0): string => (value === null ? '' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function cells(row: ResultRow): string[] {
  const value = row.megabytes !== null ? `${number(row.megabytes, 1)} MB` : row.milliseconds != null ? `${number(row.milliseconds)} ms` : number(row.requestsPerSecond);
  const ratio = row.ratio === null ? '' : `${number(row.ratio, 2)} ${row.ratioOf ?? ''}`.trim();
  const met = row.met === null ? '' : row.met ? 'yes' : 'NO';
  return [row.measurement, value, number(row.p50Ms, 1), number(row.p99Ms, 1), number(row.errors), ratio, row.target ?? '', met];
}

const HEADER = ['measurement', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'ratio', 'target', 'met?'];

export function textTable(results: BenchResults, database: DatabaseKind): string {
  const lines = [HEADER, ...results.rows.filter((row) => row.database === database).map(cells)];
  const widths = HEADER.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  return lines.map((line) => line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
}

export function markdownTable(results: BenchResults, database: DatabaseKind): string {
  const lines = results.rows.filter((row) => row.database === database).map(cells);
  return [`| ${HEADER.join(' | ')} |`, `| ${HEADER.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`, ...lines.map((line) => `| ${line.join(' | ')} |`)].join('\n');
}

/**
 * One line per judged row: what the target is, met or missed, and the figure that decided it.
 * Any row given a target appears here, whoever's scenario wrote it.
 */
export function targetLines(results: BenchResults): string[] {
  return results.rows
    .filter((row) => row.target !== null)
    .map((row) => {
      const [measurement, value, , , errors, ratio] = cells(row);
      const figure = ratio || value;
      return `- ${row.met ? 'met' : '**missed**'} — ${row.database}, ${measurement}: ${row.target} (measured ${figure}${row.errors ? `, ${errors} errors` : ''})`;
    });
}

export function machineLine(machine: Machine): string {
  return `${machine.cpuCount} × ${machine.cpuModel}, ${machine.totalMemoryGB} GB RAM, ${machine.os}, Node ${machine.node}; load average ${machine.loadAverageAtStart} at start`;
}

export function writeResults(path: string, results: BenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
  const databases = [...new Set(results.rows.map((row) => row.database))];
  const markdown = [
    `Run ${results.date} (${results.mode}) on ${machineLine(results.machine)}.`,
    '',
    '**Targets**',
    '',
    ...targetLines(results),
    ...databases.flatMap((database) => ['', `**${database}**`, '', markdownTable(results, database)]),
  ].join('\n');
  writeFileSync(path.replace(/\.json$/, '') + '.md', `${markdown}\n`);
}
