#!/usr/bin/env node
// `npm test`: every *.test.ts under test/ through node's test runner with the tsx loader.
// (Node 20's --test does not expand globs itself.) Extra arguments are passed on, so
// `npm test -- test/api` runs one folder and `npm test -- --test-name-pattern=csrf` filters.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path).sort().flatMap((entry) => collect(join(path, entry)));
}

const args = process.argv.slice(2);
const paths = args.filter((arg) => !arg.startsWith('-'));
const flags = args.filter((arg) => arg.startsWith('-'));
const files = (paths.length > 0 ? paths : ['test']).flatMap(collect);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...flags, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
