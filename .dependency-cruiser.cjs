/**
 * Twofold's architecture as rules (STYLE.md convention 12). `npm run lint` checks them in CI, so
 * an arrow that breaks a layer fails the build instead of waiting for a reviewer to notice.
 *
 * The layers of src/, from the bottom up:
 *
 *   kernel          clock.ts, config.ts. Plain values and the clock: they import nothing else
 *                   from src/, so every layer may use them.
 *   infrastructure  storage/ (Kysely, schema, migrations), crypto/ (keys, tokens, encryption),
 *                   delivery/ (e-mail and SMS senders, the outbox). Adapters to the outside
 *                   world; they know nothing of logins, users or factors, so they never import
 *                   the domain, and crypto/ does not need the database.
 *   domain          every other folder of src/ except http/ and cli/ (accounts/, audit/,
 *                   challenges/, factors/, limits/, login/, sessions/, users/, ...). What
 *                   Twofold does, independent of how it is asked: it returns outcomes and throws
 *                   its own errors, and never imports http/ or errors.ts (the HTTP error
 *                   catalog), so the same functions serve the API, the pages, the CLI and tests.
 *                   A folder added to src/ is domain unless it is added to INFRASTRUCTURE or to
 *                   the entry layers below.
 *   deps.ts         the `Deps` container type the domain and HTTP receive. It names the
 *                   infrastructure and the domain services wired at start (limits, metrics,
 *                   the hasher), so it sits above them; the folder-cycle check keeps it honest.
 *   http            http/ and errors.ts (the closed registry of API error codes and HttpError).
 *                   Reads input, calls the domain, maps the outcome to an answer. It uses the
 *                   types the domain exports, never storage/ (no table or row types, no
 *                   queries of its own).
 *   cli             cli/: the `twofold` command. Calls the domain and infrastructure; starts the
 *                   server through server.ts, never through http/ directly.
 *   composition     app.ts (builds the Fastify app) and server.ts (builds Deps and listens).
 *                   The roots that wire everything together: they may import anything, and
 *                   only cli/ and each other import them.
 *
 * No cycles between the folders of src/: each folder can be read, tested and replaced knowing
 * only the folders below it. That check is scripts/folder-cycles.mjs, run by `npm run lint`
 * after this file's rules: it cruises with these options, collapses every module to its top
 * folder under src/ (each root file stands for itself) and fails on any strongly connected
 * component, so a/x → b/y → a/z is a cycle even when no module is in one. It is not a rule
 * here because `scope: "folder"` rules see every nested folder as a node of its own: they miss
 * a/x → b/sub/y with b/z → a/w (b/sub never imports a/) and report cycles between sibling
 * sub-folders inside one folder, which are that folder's own business. Module cycles inside a
 * folder are not forbidden either (STYLE.md 12 is about folders).
 *
 * Parser: swc, because dependency-cruiser reads TypeScript through the `typescript` package's
 * JavaScript API only up to 6.x, and this project compiles with TypeScript 7 (no such API).
 * swc sees every import, type-only ones included: a type import is an arrow in the
 * architecture as much as a value import.
 */

const INFRASTRUCTURE = '^src/(storage|crypto|delivery)/';
const NOT_DOMAIN = '^src/(http|storage|crypto|delivery|cli)/';
/** Every folder of src/ that is not infrastructure, HTTP or the CLI (root files are not). */
const DOMAIN = { path: '^src/[^/]+/', pathNot: NOT_DOMAIN };
const KERNEL = '^src/(clock|config)[.]ts$';
const HTTP = '^src/(http/|errors[.]ts$)';
const COMPOSITION = '^src/(app|server)[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-not-to-http',
      severity: 'error',
      comment:
        'The domain is independent of HTTP: it returns outcomes or throws domain errors, and http/ maps them ' +
        '(STYLE.md 13). Importing http/ or errors.ts (HttpError, the API error catalog) ties it to one caller.',
      from: DOMAIN,
      to: { path: HTTP },
    },
    {
      name: 'storage-not-to-domain',
      severity: 'error',
      comment: 'storage/ is the database adapter below the domain: schema, connection, migrations. It never knows the domain.',
      from: { path: '^src/storage/' },
      to: DOMAIN,
    },
    {
      name: 'delivery-not-to-domain',
      severity: 'error',
      comment: 'delivery/ sends the e-mails and texts it is given; what to send is the domain\'s business.',
      from: { path: '^src/delivery/' },
      to: DOMAIN,
    },
    {
      name: 'crypto-not-to-storage',
      severity: 'error',
      comment: 'crypto/ is pure: keys, tokens, encryption of values. Where the values are kept is not its business.',
      from: { path: '^src/crypto/' },
      to: { path: '^src/storage/' },
    },
    {
      name: 'infrastructure-not-up',
      severity: 'error',
      comment: 'Infrastructure sits below the domain and the entry layers: it never imports deps.ts, http/, errors.ts, cli/ or the composition roots.',
      from: { path: INFRASTRUCTURE },
      to: { path: ['^src/deps[.]ts$', HTTP, '^src/cli/', COMPOSITION] },
    },
    {
      name: 'http-not-to-storage',
      severity: 'error',
      comment:
        'http/ reaches the data through the domain: it uses the types the domain exports, never the table and row ' +
        'types of storage/schema.ts (nor anything else in storage/), so the schema can change behind the domain.',
      from: { path: HTTP },
      to: { path: '^src/storage/' },
    },
    {
      name: 'kernel-is-a-leaf',
      severity: 'error',
      comment: 'clock.ts and config.ts are imported by every layer, so they import nothing else from src/.',
      from: { path: KERNEL },
      to: { path: '^src/', pathNot: KERNEL },
    },
    {
      name: 'cli-not-to-http',
      severity: 'error',
      comment: 'The CLI calls the domain; it starts the server through server.ts, not by reaching into http/.',
      from: { path: '^src/cli/' },
      to: { path: HTTP },
    },
    {
      name: 'oidc-provider-only-in-oidc',
      severity: 'error',
      comment:
        'oidc-provider is configured in one place, src/oidc/ (provider.ts and its storage adapter), and mounted by one ' +
        'route module, http/oidc-routes.ts. Anything else that reached into the library would be a second ' +
        'configuration of the OpenID Provider that the security rules of section L do not see.',
      from: { path: '^src/', pathNot: ['^src/oidc/', '^src/http/oidc-routes[.]ts$'] },
      to: { path: '(^|/)node_modules/oidc-provider/' },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      comment: 'cli/ is an entry point (bin/twofold.js runs it); nothing in src/ depends on it.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-entry-points-import-composition',
      severity: 'error',
      comment: 'app.ts and server.ts wire everything together; anything they wire that imported them back would be a cycle.',
      from: { path: '^src/', pathNot: ['^src/cli/', COMPOSITION] },
      to: { path: COMPOSITION },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      comment: 'The product does not depend on its tests or their helpers.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'src-not-to-dev-dependencies',
      severity: 'error',
      comment: 'src/ runs in production, where `npm ci --omit=dev` leaves devDependencies out: it may import only dependencies.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no-undeclared-packages',
      severity: 'error',
      comment: 'A package used by src/ is declared in package.json (not found through another package\'s dependencies).',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import dependency-cruiser cannot resolve is an arrow it cannot check: fix the import (or this config).',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    // ESM packages such as typebox only export an "import" condition.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
