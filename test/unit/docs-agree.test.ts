/**
 * The docs an operator and an API client read (docs/) agree with the code they describe, so they
 * cannot drift: every error code of src/errors.ts is in docs/api.md with its status and words, and
 * the configuration table of docs/configuration.md names exactly the variables of the schema in
 * src/config.ts (what `twofold config` lists) — someone adding a variable adds its row.
 * Each failure says exactly what is missing where.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { describeConfiguration } from '../../src/config.ts';
import { errorCatalog } from '../../src/errors.ts';

function readDoc(name: string): string {
  return readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');
}

/** The rows of the first Markdown table under `heading`, as cells (the header row and rule left out). */
function tableUnder(markdown: string, heading: string): string[][] {
  const text = `\n${markdown}`;
  const start = text.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `the heading "${heading}" is missing`);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
  }
  return rows;
}

describe('docs/api.md lists every error code of src/errors.ts', () => {
  const rows = tableUnder(readDoc('api.md'), '## Errors');
  const documented = new Map(rows.map((cells) => [cells[0]!.replace(/`/g, ''), cells]));

  it('documents every code the API can answer, with its status and message', () => {
    for (const [code, entry] of Object.entries(errorCatalog)) {
      const cells = documented.get(code);
      assert.ok(cells, `error code "${code}" (src/errors.ts) is missing from the Errors table of docs/api.md`);
      assert.equal(cells[1], String(entry.status), `error code "${code}" answers ${entry.status} (src/errors.ts) but docs/api.md says ${cells[1]}`);
      assert.ok(cells[2]!.startsWith(entry.message), `the message of "${code}" in docs/api.md differs from src/errors.ts: "${entry.message}"`);
      for (const variant of Object.values((entry as { variants?: Record<string, string> }).variants ?? {})) {
        assert.ok(cells[2]!.includes(variant), `docs/api.md does not give the words "${variant}" of error code "${code}" (src/errors.ts)`);
      }
    }
  });

  it('documents no code that src/errors.ts does not have', () => {
    for (const code of documented.keys()) {
      assert.ok(code in errorCatalog, `docs/api.md documents error code "${code}", which src/errors.ts does not have`);
    }
  });
});

describe('docs/configuration.md documents exactly the variables of src/config.ts', () => {
  // `twofold config` prints "NAME (default …): what it does", one line per variable of the schema.
  const schema = describeConfiguration().map((line) => line.slice(0, line.indexOf(' (default')));
  // A row's first cell names one or more variables, each in backticks (`A`, `B` or `A` / `B`).
  const documented = tableUnder(readDoc('configuration.md'), '# Configuration').flatMap((cells) => [...cells[0]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1]!));

  it('reads the variable names of the schema and of the table', () => {
    assert.ok(schema.length > 40 && schema.every((name) => /^[A-Z][A-Z0-9_]*$/.test(name)), `unexpected schema names: ${schema.join(', ')}`);
    assert.ok(documented.length > 40, `found only ${documented.length} variables in the table of docs/configuration.md`);
  });

  it('documents every variable of the schema', () => {
    const missing = schema.filter((name) => !documented.includes(name));
    assert.deepEqual(missing, [], `${missing.join(', ')}: in the configuration schema (src/config.ts, listed by twofold config) but missing from the table in docs/configuration.md`);
  });

  it('documents no variable that the schema does not have', () => {
    const unknown = documented.filter((name) => !schema.includes(name));
    assert.deepEqual(unknown, [], `${unknown.join(', ')}: documented in the table of docs/configuration.md but not in the configuration schema (src/config.ts)`);
  });
});
