/**
 * A job every instance runs on a timer (the sweep, the staged-enforcement reminders). Each starts
 * at a random moment in its first minute, so instances started together do not run in step; a
 * run never overlaps the previous one; a failure is logged and the next run tries again. The
 * jobs themselves are safe to run on several instances at once (conditional writes).
 */
export interface JobLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Starts `run` every `intervalMs`; answers the function that stops it (on shutdown). */
export function startPeriodicJob(name: string, intervalMs: number, run: () => Promise<void>, log: JobLog): () => void {
  let running = false;
  const once = async () => {
    if (running) return;
    running = true;
    try {
      await run();
    } catch (error) {
      log.warn({ error: error instanceof Error ? error.message : String(error) }, `${name} failed; trying again at the next run`);
    } finally {
      running = false;
    }
  };
  let interval: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    void once();
    interval = setInterval(() => void once(), intervalMs);
    interval.unref();
  }, Math.floor(Math.random() * 60_000));
  first.unref();
  return () => {
    clearTimeout(first);
    if (interval) clearInterval(interval);
  };
}
