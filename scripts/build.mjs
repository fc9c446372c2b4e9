#!/usr/bin/env node
// The compiled build: src/ bundled with esbuild into dist/, which `npm start` and the `twofold`
// command run (bin/twofold.js). `npm install` runs it (the `prepare` script); `npm run build` by hand.
// The test runner (scripts/run-tests.mjs) builds the same way into .test-build/.
//
// Why esbuild and not `tsc` emit: the sources import each other with `.ts` extensions and the
// packages as bare names; a bundle resolves both once, at build time, and starts faster and
// smaller than thousands of module files (no resolution, one source per chunk). TypeScript is
// still checked by `npx tsc --noEmit`; esbuild only strips types.
//
// Code splitting: what `import()` loads (the OpenID Provider, the `twofold` subcommands other
// than `serve`, ...) becomes a chunk of its own, read only when first needed, so a server that
// has not met its first OpenID request has not parsed oidc-provider. Chunks sit beside the
// entry in dist/ (one level below the root like src/, so `new URL('../public/', import.meta.url)`
// finds the assets from either).
//
// Left out of the bundle, loaded from node_modules at run time: native addons, and packages that
// read files next to their own code (__dirname: swagger-ui's assets, @fastify/static) or start
// workers by file name (pino's transports). A package added to that kind fails loudly in the tests
// that start the command ("__dirname is not defined"): add it to EXTERNAL.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

export const EXTERNAL = ['better-sqlite3', '@node-rs/argon2', 'pg-native', '@fastify/swagger', '@fastify/swagger-ui', '@fastify/static', 'pino'];

/**
 * The packages in EXTERNAL are loaded with require() (the banner's), not with an ES import: Node's
 * ES loader runs its CommonJS export scanner (cjs-module-lexer, JavaScript) over each CommonJS file
 * it imports, which became hot enough at start-up to be optimised on V8's compiler threads, and
 * those threads' malloc arenas kept ~6–7 MB each of an idle server's memory (bench/NOTES.md).
 */
const requireExternals = {
  name: 'require-externals',
  setup(build) {
    const names = new RegExp(`^(${EXTERNAL.map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter: names }, (args) => (args.namespace === 'require-external' ? { path: args.path, external: true } : { path: args.path, namespace: 'require-external' }));
    build.onLoad({ filter: /.*/, namespace: 'require-external' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/**
 * Bundles src/cli/main.ts into `outdir`: `<name>.js` and its chunks `<name>-chunk-<hash>.js`, all
 * in that one folder, which must sit one level below the root (see above). Returns the entry's
 * path. The test runner names each run's build apart, so runs side by side share no file.
 * Whitespace and syntax minified: the source text of every loaded chunk stays in memory for the
 * life of the process (3.2 instead of 7 MB); identifiers are kept, so stack traces stay readable.
 */
export async function buildTwofold(outdir, name = 'twofold') {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { [name]: join(root, 'src/cli/main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    chunkNames: `${name}-chunk-[hash]`,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    plugins: [requireExternals],
    minifyWhitespace: true,
    minifySyntax: true,
    // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
    banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
    logLevel: 'error',
  });
  return join(outdir, `${name}.js`);
}

// `node scripts/build.mjs`: a clean dist/ (`--outdir DIR`: another folder, for the build's own
// test). A server already running from dist/ keeps working only until it loads a chunk it has not
// loaded yet, so build while it is stopped (as `npm install` is run).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const dist = values.outdir ? resolve(values.outdir) : join(root, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const started = performance.now();
  await buildTwofold(dist);
  console.log(`twofold: built ${relative(root, dist) || dist}/ in ${Math.round(performance.now() - started)} ms`);
}
