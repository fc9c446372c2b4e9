/**
 * Smoke run of the benchmark (`npm run bench -- --quick`): it completes and writes every
 * measurement for both databases. Targets are read from the full run, never asserted here:
 * timings on a shared machine would make this test flaky.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { ROW_IDS, SINGLE_VALUE_ROWS, type BenchResults } from '../../bench/report.ts';
import { databaseTargets } from '../helpers/databases.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function runQuickBench(out: string, databases: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out, '--databases', databases.join(',')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('benchmark, quick mode', () => {
  const folder = mkdtempSync(join(tmpdir(), 'twofold-bench-test-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('completes and writes every measurement with numbers for each database', { timeout: 300_000 }, async () => {
    const databases = (await databaseTargets()).filter((target) => !target.skip).map((target) => target.kind);
    const out = join(folder, 'results.json');
    const { code, output } = await runQuickBench(out, databases);
    assert.equal(code, 0, output.slice(-4000));

    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    assert.equal(results.mode, 'quick');
    assert.ok(results.machine.cpuCount > 0 && results.machine.node.startsWith('v'), 'the machine is described');
    for (const database of databases) {
      for (const id of ROW_IDS) {
        const row = results.rows.find((candidate) => candidate.database === database && candidate.id === id);
        assert.ok(row, `${database}: row ${id} is written`);
        const fields = SINGLE_VALUE_ROWS.has(id) ? [row.megabytes ?? row.milliseconds] : [row.requestsPerSecond, row.p50Ms, row.p99Ms, row.errors];
        for (const value of fields) assert.ok(typeof value === 'number' && Number.isFinite(value) && value >= 0, `${database} ${id}: ${JSON.stringify(row)}`);
        if (row.target !== null) assert.equal(typeof row.met, 'boolean', `${database} ${id}: judged against its target`);
      }
    }
    const markdown = readFileSync(out.replace(/\.json$/, '.md'), 'utf8');
    assert.match(markdown, /\| measurement \| req\/s \|/, 'the markdown table is written beside it');
    const judged = results.rows.filter((row) => row.target !== null).length;
    assert.equal(markdown.match(/^- (met|\*\*missed\*\*) — /gm)?.length, judged, 'one met / missed line per target');
  });
});
