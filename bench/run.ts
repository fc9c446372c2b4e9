/**
 * `npm run bench`: throughput of Twofold's hot paths as ratios to a bare Fastify route measured
 * in the same run (absolute numbers on a shared machine mean little; ratios travel). Servers
 * run in their own processes so the load generator does not share their event loop.
 *
 *   bare route         → the yardstick
 *   /healthz           → Twofold's plugins (headers, guard, CSRF, rate limit) without a session
 *   session check      → GET /api/v1/me with a bearer token (one SHA-256, one indexed read)
 *   password login     → POST /api/v1/login (argon2id, bounded concurrency)
 *   session under load → session checks while a flood of logins runs at the same time
 *
 * BENCH_SECONDS (default 5) sets each run's length; BENCH_DATABASE_URL picks the database.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, TEST_ENCRYPTION_KEY } from '../test/helpers/server.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const root = fileURLToPath(new URL('..', import.meta.url));

async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up`);
}

function load(options: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ duration: seconds, connections: 50, ...options });
}

function summary(result: autocannon.Result): string {
  return `${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}`;
}

async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'twofold-bench-'));
  const children: ChildProcess[] = [];
  try {
    const barePort = await freePort();
    const bare = fork(join(root, 'bench/bare-server.ts'), { env: { ...process.env, PORT: String(barePort) }, execArgv: ['--import', 'tsx'] });
    children.push(bare);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const twofold = spawn(process.execPath, [join(root, 'bin/twofold.js'), 'serve'], {
      env: { ...process.env, PORT: String(port), DATABASE_URL: process.env.BENCH_DATABASE_URL ?? `sqlite:${join(folder, 'bench.db')}`, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn', FAILED_PASSWORDS_PER_EMAIL: '10000', FAILED_PASSWORDS_PER_IP: '1000000', REQUESTS_PER_MINUTE_PER_IP: '100000000' },
      stdio: 'inherit',
    });
    children.push(twofold);
    await waitForHealth(`http://127.0.0.1:${barePort}/bare`);
    await waitForHealth(`${base}/healthz`);

    const email = `bench-${Date.now()}@example.com`;
    const signup = await fetch(`${base}/api/v1/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountName: 'Bench', name: 'Bench', email, password: 'benchmark password' }) });
    const { token } = (await signup.json()) as { token: string };
    const loginBody = JSON.stringify({ email, password: 'benchmark password' });

    const bareResult = await load({ url: `http://127.0.0.1:${barePort}/bare` });
    const healthResult = await load({ url: `${base}/healthz` });
    const sessionResult = await load({ url: `${base}/api/v1/me`, headers: { authorization: `Bearer ${token}` } });
    const loginResult = await load({ url: `${base}/api/v1/login`, method: 'POST', headers: { 'content-type': 'application/json' }, body: loginBody, connections: 20 });
    const [underLoad] = await Promise.all([
      load({ url: `${base}/api/v1/me`, headers: { authorization: `Bearer ${token}` }, connections: 10 }),
      load({ url: `${base}/api/v1/login`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nobody@example.com', password: 'junk credentials' }), connections: 50 }),
    ]);

    const ratio = (result: autocannon.Result) => (result.requests.average / bareResult.requests.average).toFixed(3);
    console.log(`\nTwofold benchmark (${seconds} s each, same machine, same run)`);
    console.log(`bare Fastify route        ${summary(bareResult)}`);
    console.log(`Twofold /healthz (no session, all plugins)  ${summary(healthResult)}  ratio to bare ${ratio(healthResult)}`);
    console.log(`session check (GET /me)   ${summary(sessionResult)}  ratio to bare ${ratio(sessionResult)}`);
    console.log(`password login            ${summary(loginResult)}  ratio to bare ${ratio(loginResult)}`);
    console.log(`session check under a junk-login flood  ${summary(underLoad)}  ratio to bare ${ratio(underLoad)}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(folder, { recursive: true, force: true });
  }
}

await main();
