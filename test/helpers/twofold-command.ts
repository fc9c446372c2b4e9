/**
 * The `twofold` command that tests start as a child process (`serve`, `migrate`, `support`, ...).
 *
 * `npm test` (scripts/run-tests.mjs) bundles src/cli/main.ts once with esbuild, before any test,
 * and names the bundle in TWOFOLD_TEST_BIN: the same sources, compiled once instead of through
 * the tsx loader in every child (about 2.5 CPU-seconds per start through tsx, 0.4 from the
 * bundle; the suite starts such children about a hundred times). Run outside the runner
 * (`node --import tsx --test FILE`), tests fall back to bin/twofold.js, the command users run.
 * test/cli/cli.test.ts always runs bin/twofold.js once, so the tsx entry stays covered.
 */
import { fileURLToPath } from 'node:url';

/** bin/twofold.js: the command as installed, TypeScript through tsx. */
export const installedTwofoldBin = fileURLToPath(new URL('../../bin/twofold.js', import.meta.url));

/** What tests start: the runner's compiled bundle when there is one, else bin/twofold.js. */
export const twofoldBin = process.env.TWOFOLD_TEST_BIN || installedTwofoldBin;
