/**
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile> [count]`: the functions with the
 * most self time in a V8 CPU profile (from `npm run bench -- --cpu-prof <dir>`), and the same
 * grouped by package or source folder, so a slow path can be named without a GUI.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CPUProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const source = /\/work\/[^/]+\/((?:src|bench|test)\/(?:[^/]+\/)?)/.exec(url) ?? /((?:src|bench)\/(?:[^/]+\/)?)/.exec(url);
  if (source) return source[1]!;
  if (url.startsWith('node:')) return url;
  return url === '' ? '(native / V8)' : url.replace(/^file:\/\//, '');
}

export function summarize(profile: CPUProfile, count: number): string {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
    total += delta;
  });
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const frame = nodes.get(id)!.callFrame;
    const name = `${frame.functionName || '(anonymous)'}  ${where(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    byPlace.set(where(frame.url), (byPlace.get(where(frame.url)) ?? 0) + micros);
  }
  const top = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, micros]) => `${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  return [`total sampled ${(total / 1e6).toFixed(1)} s`, '', 'self time by function:', ...top(byFunction), '', 'self time by package / folder:', ...top(byPlace)].join('\n');
}

const [file, count] = process.argv.slice(2);
if (!file) {
  console.error('Usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [count]');
  process.exit(2);
}
console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as CPUProfile, Number(count ?? 25)));
