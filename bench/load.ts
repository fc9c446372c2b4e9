/**
 * Load generators. Autocannon for request/response loads (fixed or per-request bodies, a cap
 * on the total when each request spends something from a pool); a small closed loop for
 * sequences that autocannon cannot time as one unit (a full password + TOTP login).
 */
import autocannon from 'autocannon';

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  errors: number;
  requests: number;
  /** What went wrong, by kind (closed-loop loads only), e.g. {"login 503": 3}. */
  errorKinds?: Record<string, number>;
}

export interface AutocannonLoad {
  url: string;
  seconds: number;
  connections: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Builds each request (rotating tokens, fresh codes); without it every request is the same. */
  perRequest?: () => { path?: string; headers: Record<string, string>; body?: string };
  /** Stop after this many requests even if time remains (pools that run out). */
  maxRequests?: number;
  /** Requests per second across all connections (open rate instead of as fast as possible). */
  rate?: number;
}

export async function runAutocannon(load: AutocannonLoad): Promise<LoadFigures> {
  const started = performance.now();
  const perRequest = load.perRequest;
  const result = await autocannon({
    url: load.url,
    duration: load.seconds,
    connections: load.connections,
    method: load.method ?? 'GET',
    headers: load.headers,
    body: load.body,
    ...(load.maxRequests ? { maxOverallRequests: Math.max(load.maxRequests, load.connections) } : {}),
    ...(load.rate ? { overallRate: load.rate } : {}),
    ...(perRequest ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, ...perRequest() }) }] } : {}),
  });
  const elapsedSeconds = (performance.now() - started) / 1000;
  return {
    requestsPerSecond: result.requests.total / Math.max(elapsedSeconds, 0.001),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors,
    requests: result.requests.total,
  };
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

/**
 * `concurrency` workers each run `task` back to back for `seconds` (or until it reports that
 * its pool ran out). One completed task is one unit: its latency is the whole task's.
 */
export type TaskOutcome = 'ok' | 'exhausted' | { error: string };

export async function runClosedLoop(seconds: number, concurrency: number, task: () => Promise<TaskOutcome>): Promise<LoadFigures> {
  const latencies: number[] = [];
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let exhausted = false;
  async function worker(): Promise<void> {
    while (!exhausted && performance.now() < deadline) {
      const begun = performance.now();
      let outcome: TaskOutcome;
      try {
        outcome = await task();
      } catch (error) {
        // fetch puts the reason (ECONNRESET, a timeout …) in `cause`.
        const cause = error instanceof Error && error.cause instanceof Error ? `: ${(error.cause as Error & { code?: string }).code ?? error.cause.message}` : '';
        outcome = { error: `${error instanceof Error ? error.message : String(error)}${cause}` };
      }
      if (outcome === 'exhausted') {
        exhausted = true;
        return;
      }
      latencies.push(performance.now() - begun);
      if (typeof outcome === 'object') {
        errors += 1;
        errorKinds[outcome.error] = (errorKinds[outcome.error] ?? 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: latencies.length / Math.max(elapsedSeconds, 0.001),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors,
    requests: latencies.length,
    errorKinds,
  };
}
