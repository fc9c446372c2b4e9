/**
 * argon2id on worker threads that lower their own CPU priority (issue #18 target 5).
 *
 * Why not the binding's async functions: they run on libuv's thread pool at the process's own
 * priority, so on a machine with as many cores as hash threads a login flood takes the CPU from
 * the event loop, and every session check waits its turn behind a 15 ms hash (measured: p99 up to
 * 4× idle on 2 cores). A thread of our own can renice itself (Linux: setpriority on its thread id,
 * which needs no privilege because it only lowers): the scheduler then hands the event loop a core
 * as soon as it has work, and the hashes take every cycle it leaves, so logins/s are not lost on
 * an idle main thread. Each thread hashes synchronously (the binding's *Sync functions), so the
 * work stays on the thread whose priority was lowered.
 *
 * Threads start on the first hash, not at start (idle memory), are held only while they work
 * (an idle thread never keeps the process alive), and end after a quiet spell, so the memory of a
 * flood is given back.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';

/** argon2 parameters as the binding takes them (algorithm 2 is argon2id). */
export interface Argon2Parameters {
  algorithm: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export type Argon2Job = { kind: 'hash'; password: string; parameters: Argon2Parameters } | { kind: 'verify'; storedHash: string; password: string };

export interface Argon2Threads {
  /** Runs one job on an idle thread; the caller bounds concurrency to `size` (the hasher's slots). */
  run(job: Argon2Job): Promise<string | boolean>;
}

/** Linux niceness of the hashing threads: the lowest priority, so the event loop always wins a core. */
const HASH_THREAD_NICENESS = 19;
/**
 * The threads' JavaScript is a message loop around the native hash (whose memory is native, not
 * V8's): a small heap keeps each thread's isolate from growing the server's peak memory (issue #18,
 * peak ≤ 200 MB under a login flood).
 */
const THREAD_HEAP_LIMITS = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 };
/**
 * The young generation's limit the `twofold` command sets first thing (bin/twofold.js: V8 keeps its
 * initial 1 MB semi-space). A worker thread's start puts V8's flags back to the command line's, and
 * the server's young generation then grew to 2 × 16 MB under its first login flood (+30 MB of peak
 * memory, issue #18): each thread sets it again once it is running. A process that never set it
 * (the tests' in-process servers) gets it too, which changes only how its garbage is collected.
 */
const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1';
/** A thread with no work for this long ends (a restart costs ~30 ms, once per burst). */
const IDLE_THREAD_MS = 30_000;

// CommonJS, evaluated in the worker: a source string needs no file next to the bundle (dist/ and
// the test runner's bundle are one file each). The binding is required by the absolute path the
// main thread resolved. A thread that cannot renice itself (not Linux) still hashes.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const { setPriority } = require('node:os');
try {
  const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(threadId) && threadId > 0) setPriority(threadId, workerData.niceness);
} catch {}
const { hashSync, verifySync } = require(workerData.binding);
parentPort.on('message', (job) => {
  try {
    const value = job.kind === 'hash' ? hashSync(job.password, job.parameters) : verifySync(job.storedHash, job.password);
    parentPort.postMessage({ ok: true, value });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) });
  }
});
`;

interface HashThread {
  worker: Worker;
  settle: ((answer: { ok: true; value: string | boolean } | { ok: false; message: string }) => void) | null;
  idleTimer: NodeJS.Timeout | null;
  /** Ending or ended: it takes no more jobs. */
  exited: boolean;
}

/** `idleMs`: how long a thread without work lives (tests shorten it to see threads end and start again). */
export function createArgon2Threads(size: number, idleMs = IDLE_THREAD_MS): Argon2Threads {
  const binding = createRequire(import.meta.url).resolve('@node-rs/argon2');
  const idle: HashThread[] = [];
  let started = 0;

  function startThread(): HashThread {
    const thread: HashThread = { worker: new Worker(WORKER_SOURCE, { eval: true, workerData: { binding, niceness: HASH_THREAD_NICENESS }, resourceLimits: THREAD_HEAP_LIMITS }), settle: null, idleTimer: null, exited: false };
    started += 1;
    thread.worker.once('online', () => setFlagsFromString(YOUNG_GENERATION_FLAG));
    thread.worker.on('message', (answer) => thread.settle?.(answer));
    // An uncaught error ends the thread: it is forgotten at once, before its exit event.
    thread.worker.on('error', (error) => {
      forget(thread);
      thread.settle?.({ ok: false, message: error.message });
    });
    thread.worker.on('exit', () => {
      forget(thread);
      thread.settle?.({ ok: false, message: 'argon2 thread exited' });
    });
    return thread;
  }

  /** No job is handed to the thread any more, and it no longer counts against `size`. */
  function forget(thread: HashThread): void {
    if (thread.exited) return;
    thread.exited = true;
    started -= 1;
    const at = idle.indexOf(thread);
    if (at >= 0) idle.splice(at, 1);
  }

  function putBack(thread: HashThread): void {
    thread.settle = null;
    if (thread.exited) return;
    thread.worker.unref();
    thread.idleTimer = setTimeout(() => {
      // Forgotten before it ends: a job must never be handed to a thread on its way out.
      forget(thread);
      void thread.worker.terminate();
    }, idleMs).unref();
    idle.push(thread);
  }

  return {
    run(job) {
      const thread = idle.pop() ?? (started < size ? startThread() : null);
      if (!thread) return Promise.reject(new Error('argon2 threads: more jobs than threads (the caller bounds concurrency)'));
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      thread.worker.ref();
      return new Promise((resolve, reject) => {
        thread.settle = (answer) => {
          putBack(thread);
          if (answer.ok) resolve(answer.value);
          else reject(new Error(answer.message));
        };
        thread.worker.postMessage(job);
      });
    },
  };
}
