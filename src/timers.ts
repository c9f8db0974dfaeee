// Timers for durations a user writes (`datum_timeout: 720h`, a poll interval): Node's timers take
// at most 2^31-1 ms (about 24.8 days) and fire after 1 ms for anything longer, so a long timer is
// a chain of shorter ones. Every timer set from a user's duration goes through here. Like
// errors.ts, this module depends on nothing, so every layer may use it.

/** The longest delay one Node timer accepts. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  /** Stop the timer; calling it again, or after it fired, does nothing. */
  cancel(): void;
}

/**
 * Call `fn` once, `ms` milliseconds from now. Any length works: Infinity never fires, a negative
 * or zero delay fires on the next turn of the event loop. `unref` lets the process exit meanwhile.
 */
export function setLongTimeout(fn: () => void, ms: number, opts: { unref?: boolean } = {}): LongTimer {
  if (Number.isNaN(ms)) throw new RangeError('timer delay is not a number');
  let left = Math.max(0, ms);
  let handle: NodeJS.Timeout | undefined;
  const arm = () => {
    if (left === Infinity) return;
    const step = Math.min(left, MAX_TIMER_MS);
    handle = setTimeout(() => {
      left -= step;
      if (left > 0) arm();
      else {
        handle = undefined;
        fn();
      }
    }, step);
    if (opts.unref) handle.unref();
  };
  arm();
  return {
    cancel: () => {
      if (handle) clearTimeout(handle);
      handle = undefined;
      left = Infinity;
    },
  };
}

/** Call `fn` every `ms` milliseconds (any length) until cancelled. */
export function setLongInterval(fn: () => void, ms: number, opts: { unref?: boolean } = {}): LongTimer {
  let current: LongTimer | undefined;
  let stopped = false;
  const next = () => {
    current = setLongTimeout(() => {
      if (stopped) return;
      next();
      fn();
    }, ms, opts);
  };
  next();
  return {
    cancel: () => {
      stopped = true;
      current?.cancel();
    },
  };
}

/** Resolve after `ms` milliseconds (any length), or as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setLongTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
