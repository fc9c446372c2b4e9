/**
 * The processes under test: the bare Fastify yardstick and Twofold itself (`twofold serve`, as
 * a user starts it), each in its own process so the load generator never shares their event
 * loop. Memory is read from /proc: VmRSS now, VmHWM the peak since start.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface RunningServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface TwofoldServer extends RunningServer {
  /** The server's own log (warnings and errors), kept out of the benchmark's output. */
  logPath: string;
  /** Lines the server logged at error level or above (pino level ≥ 50). */
  errorLines(): string[];
  /** From the spawn to the first answer of /healthz. */
  startedInMs: number;
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  // Generous: servers may start at once, and other work may be loading the machine. Asked every
  // 20 ms, so the time to the first answer (a target of issue #18) is measured to that precision.
  for (let i = 0; i < 6000; i += 1) {
    if (child.exitCode !== null) throw new Error(`The server for ${url} exited with code ${child.exitCode} before answering`);
    if (await fetch(url).then((response) => response.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${url} did not answer within 120 s`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    // A graceful stop finishes in-flight requests and writes the CPU profile; past 30 s, give up.
    const timer = setTimeout(() => {
      console.error(`[bench] process ${child.pid} did not stop within 30 s of SIGTERM; killing it`);
      child.kill('SIGKILL');
    }, 30_000);
    await exited;
    clearTimeout(timer);
  };
}

export async function startBareServer(): Promise<RunningServer> {
  const port = await freePort();
  const child = fork(join(root, 'bench/bare-server.ts'), { env: { ...process.env, PORT: String(port) }, execArgv: ['--import', 'tsx'] });
  const url = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  await waitUntilAnswering(`${url}/bare`, child).catch(async (error) => {
    await stop();
    throw error;
  });
  return { url, pid: child.pid!, stop };
}

/** Limits a benchmark would trip at once; everything else stays at its default. */
const benchEnvironment = {
  LOG_LEVEL: 'warn',
  FAILED_PASSWORDS_PER_EMAIL: '10000',
  FAILED_PASSWORDS_PER_IP: '1000000',
  REQUESTS_PER_MINUTE_PER_IP: '100000000',
  SIGNUPS_PER_IP_PER_HOUR: '1000000',
};

export interface TwofoldServerOptions {
  databaseURL: string;
  encryptionKey: string;
  /** Folder for a V8 CPU profile of the server process (written when it stops). */
  cpuProfileDir?: string;
  logPath: string;
}

export async function startTwofoldServer(options: TwofoldServerOptions): Promise<TwofoldServer> {
  const port = await freePort();
  const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const logFile = openSync(options.logPath, 'a');
  // Under `npm test` (the quick smoke run) the runner's compiled bundle of the same sources,
  // which starts without the tsx loader (test/helpers/twofold-command.ts); otherwise the command.
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...profiling, process.env.TWOFOLD_TEST_BIN || join(root, 'bin/twofold.js'), 'serve'], {
    env: { ...process.env, ...benchEnvironment, PORT: String(port), DATABASE_URL: options.databaseURL, ENCRYPTION_KEY: options.encryptionKey },
    stdio: ['ignore', logFile, logFile],
  });
  closeSync(logFile);
  const url = `http://127.0.0.1:${port}`;
  const stop = stopper(child);
  await waitUntilAnswering(`${url}/healthz`, child).catch(async (error) => {
    await stop();
    throw error;
  });
  const startedInMs = performance.now() - spawnedAt;
  const errorLines = () => readFileSync(options.logPath, 'utf8').split('\n').filter((line) => /"level":(5|6)0/.test(line));
  return { url, pid: child.pid!, stop, logPath: options.logPath, errorLines, startedInMs };
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`No ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/** Resident memory of a process now, in MiB. */
export function residentMB(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** The most resident memory the process has had since it started, in MiB. */
export function peakResidentMB(pid: number): number {
  return statusField(pid, 'VmHWM');
}
