#!/usr/bin/env node
// The `twofold` command. It runs the compiled build in dist/ (`npm install` makes it: the
// `prepare` script, scripts/build.mjs): plain JavaScript starts in a fraction of the time and
// memory of TypeScript through a loader (tsx adds a second V8 isolate and transpiled sources,
// ~60 MB). In a source checkout where dist/ is missing or older than a file under src/ (after an
// edit or a `git pull` without `npm install`), it runs the sources through tsx instead and says
// so (to a terminal: scripts and tests that read stderr get only the command's own lines), so a
// stale build never runs by mistake.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// V8 doubles the young generation whenever much survives a scavenge, up to 2 × 16 MB; start-up
// (compiling routes and schemas) alone drives it there, and it never shrinks back: 30 MB of an
// idle server's ~140 MB. Kept at its initial 1 MB semi-space instead (set before anything is
// loaded). Measured back to back (bench/NOTES.md, issue #18): the session check costs the same,
// the second login step ~15–25 % more CPU, for ~30 MB less resident memory at idle and at peak.
// A worker thread's start puts V8's flags back to the command line's: the hashing threads set it
// again (src/crypto/argon2-threads.ts).
setFlagsFromString('--semi-space-growth-factor=1');

const dist = new URL('../dist/twofold.js', import.meta.url);
const src = new URL('../src/', import.meta.url);

/** The newest modification time under `folder` (ms): ~200 stat calls, about a millisecond. */
function newestChange(folder) {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), folder);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function staleReason() {
  if (!existsSync(dist)) return 'dist/ is not built';
  if (existsSync(src) && newestChange(src) > statSync(dist).mtimeMs) return 'src/ changed after dist/ was built';
  return null;
}

const stale = staleReason();
if (stale === null) {
  await import(dist.href);
} else {
  // TWOFOLD_REQUIRE_BUILD=1 (the build's own test) refuses the fallback instead of hiding a broken build.
  if (process.env.TWOFOLD_REQUIRE_BUILD === '1') {
    console.error(`twofold: ${stale}; run npm run build`);
    process.exit(2);
  }
  if (process.stderr.isTTY) console.error(`twofold: ${stale}: running the TypeScript sources through tsx (slower start, more memory); npm run build compiles them`);
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
