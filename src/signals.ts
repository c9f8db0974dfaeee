// Ctrl-C and SIGTERM during long work that never yields. A command's SIGINT/SIGTERM handler
// (cli/base.ts) is JavaScript: it runs only when the event loop gets a turn, so a long loop whose
// awaits all resolve at once (a glob over a big tree, planning a job's datums) would hold the
// signal, and the store's locks, until it ends. While such a loop runs, the handlers are taken
// off, so the signals have their default effect and end the process at once. The store is built to survive that: its writes are
// transactions a killed process rolls back, and the crash tests kill it with SIGKILL anywhere.
// Like errors.ts, this module depends on nothing, so every layer may use it.

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Run `fn` with SIGINT and SIGTERM ending the process at once, then restore the handlers. For
 * work that awaits only what answers at once (tree pages on SQLite): its awaits never give the
 * event loop a turn, so a handler would run only after it ends.
 */
export async function killable<T>(fn: () => Promise<T>): Promise<T> {
  const saved = SIGNALS.map((signal) => {
    const listeners = process.rawListeners(signal) as ((...args: unknown[]) => void)[];
    for (const l of listeners) process.removeListener(signal, l);
    return { signal, listeners };
  });
  try {
    return await fn();
  } finally {
    for (const { signal, listeners } of saved) for (const l of listeners) process.on(signal, l);
  }
}

const cleanups = new Set<() => void>();

/**
 * Run `fn` when the command is interrupted (SIGINT/SIGTERM handled by cli/base.ts), before the
 * store is closed: e.g. a runner gives back the datums it holds. Returns the unregistration.
 */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Called by the command's signal handler; a failing cleanup does not stop the others. */
export function runInterruptCleanups(): void {
  for (const fn of [...cleanups]) {
    try {
      fn();
    } catch {
      // the process is ending either way
    }
  }
  cleanups.clear();
}
