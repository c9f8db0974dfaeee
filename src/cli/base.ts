// The base of every tusk command: output flags, the lazily opened store and its services, `--json`/`--raw`
// rendering, signals, and the one place where errors are printed and turned into exit codes.

import { Command, Errors, Flags, type Interfaces, toConfiguredId } from '@oclif/core';
import { createRequire } from 'node:module';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { EXIT, InvalidArgumentError, TuskError } from '../errors.js';
import { runInterruptCleanups } from '../signals.js';
import type { OnProgress, ProgressEvent } from '../app/api.js';
import { openTusk, type Tusk } from '../app/tusk.js';
import { formatTime, type TimeLike } from '../ui/format.js';
import { jsonArray } from '../ui/json-array.js';
import type { RowStream } from '../ui/table.js';
import { msg } from '../ui/messages.js';
import { createProgress, type Progress } from '../ui/progress.js';

/** Flags shared by list and inspect commands (pachctl's `--raw`, `-o`, `--full-timestamps`). */
export const outputFlags = {
  raw: Flags.boolean({
    description: 'Print the underlying record instead of a table (same as --json).',
    helpGroup: 'OUTPUT',
  }),
  output: Flags.string({
    char: 'o',
    description: 'Format of the --raw record.',
    options: ['json', 'yaml'],
    helpGroup: 'OUTPUT',
  }),
  'full-timestamps': Flags.boolean({
    description: 'Print absolute RFC 3339 times instead of "5 minutes ago".',
    helpGroup: 'OUTPUT',
  }),
};

/** What `--json` prints when a command fails; documented in docs/errors.md. */
export type ErrorPayload = {
  error: { code: string; message: string; hint: string | null; details?: unknown };
};

/** An error reduced to what the user sees and the exit code it maps to. */
type Described = { code: string; message: string; hint: string | null; exitCode: number; details?: unknown };

// Codes for failures that are not TuskErrors; the rest come from src/errors.ts.
const E_INTERRUPTED = 'E_INTERRUPTED';
const E_INTERNAL = 'E_INTERNAL';
const E_IO = 'E_IO';
const E_INVALID = 'E_INVALID';
const EXIT_BROKEN_PIPE = 141; // 128 + SIGPIPE, as shells report it

const PHASE_LABEL: Record<ProgressEvent['phase'], string> = { scan: 'scanning', write: 'writing', read: 'reading' };

type FlagOutput = { [name: string]: any };
type ArgOutput = { [name: string]: any };

/**
 * A tusk command: `run()` parses, makes one service call and renders; the value it returns is the
 * `--json` payload. Commands never print errors themselves: they throw, and `catch` below prints.
 */
export abstract class TuskCommand<T> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    debug: Flags.boolean({ description: 'Print stack traces of unexpected errors.', hidden: true, helpGroup: 'GLOBAL' }),
    // pachctl 2.5+ scripts pass --project; a local store is one project, Pachyderm's `default`
    project: Flags.string({ description: 'Pachyderm project: a tusk store is the one project `default`.', options: ['default'], hidden: true, helpGroup: 'GLOBAL' }),
  };

  /** 'read' for commands that never write; the store may then open without taking a write lock. */
  static storeAccess: 'read' | 'write' = 'write';

  private opened: Promise<Tusk> | undefined;
  /** the store once open: what a process about to exit closes at once (closeStoreNow) */
  private ready: Tusk | undefined;
  private outputFormat: 'json' | 'yaml' = 'json';
  private fullTimestamps = false;
  private signalHandlers: [NodeJS.Signals, () => void][] = [];

  abstract override run(): Promise<T>;

  /**
   * The store found from the working directory (or TUSK_STORE) and its services, opened on first
   * use: `(await this.tusk()).data…`. Opening a team store connects to its database.
   */
  protected tusk(): Promise<Tusk> {
    if (!this.opened) {
      const access = (this.ctor as unknown as typeof TuskCommand).storeAccess;
      this.opened = openTusk({ readonly: access === 'read' }).then((t) => (this.ready = t));
    }
    return this.opened;
  }

  /** Print human output, unless the result is being printed as JSON/YAML instead. */
  protected render(fn: () => string | undefined | void): void {
    if (this.jsonEnabled()) return;
    const text = fn();
    if (text === undefined || text === '') return;
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /**
   * Print rows as they come: under `--json`/`--raw` as one JSON array (or `-o yaml` list), byte for
   * byte what printing the whole array at once prints; otherwise as the lines `table` makes of
   * them. Output goes out in blocks of about 64 KiB, each awaited, so memory stays bounded for a
   * listing of any length and Ctrl-C is heard between blocks. A failure part-way leaves what was
   * already written and then prints its error as usual (under `--json`, after the partial array).
   */
  protected async streamRows<R>(batches: AsyncIterable<readonly R[]>, table: RowStream<R>): Promise<void> {
    const stream: RowStream<R> = this.jsonEnabled() ? (this.outputFormat === 'yaml' ? yamlList() : jsonArray()) : table;
    // a batch's rows are rendered without waiting: one wait per batch read, one per block written
    const pieces = async function* (): AsyncGenerator<string[]> {
      for await (const batch of batches) {
        const out: string[] = [];
        for (const r of batch) stream.row(r, out);
        yield out;
      }
      const out: string[] = [];
      stream.end(out);
      yield out;
    };
    // One buffer, filled and written again and again: our stdout calls back once the bytes are out,
    // so it is free again after each await. (Gathering a block by string concatenation instead
    // doubled the heap of a million-row listing.)
    const block = Buffer.allocUnsafe(STREAM_BLOCK);
    let used = 0;
    // the first rows go out as soon as a few are in; after that, full blocks
    let limit = FIRST_BLOCK;
    try {
      for await (const some of pieces()) for (const piece of some) {
        if (used + piece.length * 3 > limit && used > 0) {
          await this.writeOut(block.subarray(0, used));
          used = 0;
          limit = STREAM_BLOCK;
          // a write to a file calls back at once: give the event loop a turn, or Ctrl-C waits for the end
          await yieldToLoop();
        }
        if (piece.length * 3 > STREAM_BLOCK) await this.writeOut(piece);
        else used += block.write(piece, used);
      }
    } finally {
      // rows read before a failure are out before its error
      if (used > 0) await this.writeOut(block.subarray(0, used));
    }
  }

  // Resolves once the bytes are handed to the OS. A reader that went away ends the process as the
  // 'error' listener below would, before the rejection could be printed as a failure.
  private writeOut(text: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      process.stdout.write(text, (err) => {
        if (!err) resolve();
        else if ((err as NodeJS.ErrnoException).code === 'EPIPE') this.onStdoutError(err);
        else reject(err);
      }),
    );
  }

  /** A time cell honouring `--full-timestamps`. */
  protected time(t: TimeLike | null | undefined): string {
    return formatTime(t, { full: this.fullTimestamps });
  }

  /** A progress line on stderr (terminals only) fed by the store's progress events. */
  protected progress(): { onProgress: OnProgress; done(): void } {
    let current: Progress | undefined;
    let key = '';
    return {
      onProgress: (e: ProgressEvent) => {
        // A new phase (or a newly known total) starts a fresh line with its own rate.
        const k = `${e.phase}/${e.unit}/${e.total ?? ''}`;
        if (k !== key || !current) {
          current?.done();
          key = k;
          const unit = e.unit === 'bytes' ? 'bytes' : 'items';
          current = createProgress({ label: PHASE_LABEL[e.phase], total: e.total, unit });
        }
        current.update(e.done);
      },
      done: () => current?.done(),
    };
  }

  /** Whether stdout is a terminal (colours in tables are kept only then). */
  protected get isTty(): boolean {
    return process.stdout.isTTY === true;
  }

  /** `--raw` is an alias of `--json` on commands that have output flags. */
  override jsonEnabled(): boolean {
    if (super.jsonEnabled()) return true;
    if (!this.ctor.flags || !('raw' in this.ctor.flags)) return false;
    const end = this.argv.indexOf('--');
    return (end < 0 ? this.argv : this.argv.slice(0, end)).includes('--raw');
  }

  protected override logJson(json: unknown): void {
    process.stdout.write(this.outputFormat === 'yaml' ? toYaml(json) : JSON.stringify(json, null, 2) + '\n');
  }

  /** oclif's parse, with its errors turned into usage errors and the output flags checked. */
  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    let parsed: Interfaces.ParserOutput<F, B, A>;
    try {
      parsed = await super.parse(fromCommandLineOnly(options ?? (this.ctor as unknown as Interfaces.Input<F, B, A>)), argv);
    } catch (err) {
      throw this.usageError(err);
    }
    const flags = parsed.flags as FlagOutput;
    if (this.ctor.flags && 'raw' in this.ctor.flags) {
      if (flags.output !== undefined && !flags.raw && !flags.json) {
        throw new InvalidArgumentError(msg.outputWithoutRaw, msg.outputWithoutRawHint);
      }
      if (flags.output === 'yaml') this.outputFormat = 'yaml';
      this.fullTimestamps = flags['full-timestamps'] === true;
    }
    return parsed;
  }

  protected override async init(): Promise<void> {
    await super.init();
    for (const [signal, code] of [
      ['SIGINT', EXIT.interrupted],
      ['SIGTERM', 143],
    ] as const) {
      const handler = () => this.interrupted(code);
      process.once(signal, handler);
      this.signalHandlers.push([signal, handler]);
    }
    process.stdout.on('error', this.onStdoutError);
  }

  /**
   * For a command that runs until stopped (`logs -f`): SIGINT and SIGTERM then abort the returned
   * signal, and the command ends normally, with status 0, instead of being reported as
   * interrupted. A second Ctrl-C finds no handler and kills the process as usual.
   */
  protected untilInterrupted(): AbortSignal {
    const stop = new AbortController();
    for (const [signal, handler] of this.signalHandlers) process.removeListener(signal, handler);
    this.signalHandlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
      const handler = () => stop.abort();
      process.once(signal, handler);
      return [signal, handler];
    });
    return stop.signal;
  }

  // The reader went away (`tusk get file … | head`): stop quietly, with the exit status a
  // process killed by SIGPIPE has, instead of writing into a closed pipe forever.
  private readonly onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') return;
    try {
      this.closeStoreNow();
    } catch {
      // the process is ending either way
    }
    process.exit(EXIT_BROKEN_PIPE);
  };

  /** The only place errors are printed and mapped to exit codes. */
  protected override async catch(err: Interfaces.CommandError): Promise<never> {
    if (err instanceof Errors.ExitError) throw err;
    const d = describe(err);
    this.printError(d);
    if (this.isDebug()) process.stderr.write(stackOf(err) + '\n');
    this.exit(d.exitCode);
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    for (const [signal, handler] of this.signalHandlers) process.removeListener(signal, handler);
    process.stdout.removeListener('error', this.onStdoutError);
    this.signalHandlers = [];
    await this.closeStore();
    await super.finally(err);
  }

  /** Close the store if it was opened (a failed open left nothing to close). */
  private async closeStore(): Promise<void> {
    const opening = this.opened;
    this.opened = undefined;
    this.ready = undefined;
    const tusk = await opening?.catch(() => undefined);
    await tusk?.close();
  }

  /** Before process.exit: a local store closes at once; a team store's connections go with the process. */
  private closeStoreNow(): void {
    const tusk = this.ready;
    this.opened = undefined;
    this.ready = undefined;
    tusk?.close().catch(() => {});
  }

  // Leave through process.exit: an interrupted store call may still hold promises that would
  // otherwise keep running. Metadata writes are single transactions, so nothing is half-done.
  private interrupted(code: number): void {
    runInterruptCleanups();
    try {
      this.closeStoreNow();
    } catch {
      // the process is ending either way
    }
    this.printError({ code: E_INTERRUPTED, message: msg.interrupted, hint: null, exitCode: code });
    process.exit(code);
  }

  private printError(d: Described): void {
    if (this.jsonEnabled()) {
      const payload: ErrorPayload = { error: { code: d.code, message: d.message, hint: d.hint } };
      if (d.details !== undefined) payload.error.details = d.details;
      this.logJson(payload);
      return;
    }
    process.stderr.write(`Error: ${d.message}\n` + (d.hint ? `Hint: ${d.hint}\n` : ''));
  }

  private isDebug(): boolean {
    const end = this.argv.indexOf('--');
    const argv = end < 0 ? this.argv : this.argv.slice(0, end);
    return argv.includes('--debug') || Boolean(process.env.DEBUG);
  }

  private commandName(): string {
    return toConfiguredId(this.id ?? '', this.config);
  }

  // oclif's parse errors are multi-line and name internals; give one line and a usage hint.
  private usageError(err: unknown): Error {
    if (err instanceof TuskError) return err;
    const name = this.commandName();
    const hint = msg.usageHint(name);
    const e = err as { constructor?: { name?: string }; args?: unknown[]; flags?: string[]; message?: string };
    switch (e?.constructor?.name) {
      case 'RequiredArgsError': {
        const missing = (e.args ?? []) as { name: string; description?: string }[];
        return new InvalidArgumentError(msg.missingArgs(missing), hint, { cause: err });
      }
      case 'UnexpectedArgsError': {
        const max = Object.keys(this.ctor.args ?? {}).length;
        return new InvalidArgumentError(msg.tooManyArgs(name, max, (e.args ?? []).map(String)), hint, { cause: err });
      }
      case 'NonExistentFlagsError':
        return new InvalidArgumentError(msg.unknownFlag(e.flags ?? []), hint, { cause: err });
      default:
        return new InvalidArgumentError(lowerFirst(oneLine(e?.message ?? String(err))), hint, { cause: err });
    }
  }
}

/** Map any thrown value to code, message, hint and exit code. */
function describe(err: unknown): Described {
  if (err instanceof TuskError) {
    const details = (err as { details?: unknown }).details;
    return { code: err.code, message: oneLine(err.message), hint: err.hint ?? null, exitCode: err.exitCode, details };
  }
  if (err instanceof Errors.CLIError) {
    return { code: E_INVALID, message: oneLine(err.message), hint: null, exitCode: EXIT.usage };
  }
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
    return { code: E_IO, message: oneLine(e.message), hint: null, exitCode: EXIT.generic };
  }
  return {
    code: E_INTERNAL,
    message: oneLine(e?.message || String(err)),
    hint: msg.internalHint,
    exitCode: EXIT.generic,
  };
}

function oneLine(s: string): string {
  // oclif colours parts of some messages; a message is one plain line.
  const plain = s.replace(/\x1b\[[0-9;]*m/g, '');
  return plain
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('See more help with'))
    .join('; ');
}

// `Flag --file expects a value` → `flag --file expects a value`, as every tusk message reads.
function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

function stackOf(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const e = cur as Error;
    parts.push((depth > 0 ? 'Caused by: ' : '') + (e.stack ?? String(e)));
    cur = e.cause;
  }
  return parts.join('\n');
}

// yaml costs ~30 ms to load; only -o yaml needs it
function toYaml(value: unknown): string {
  const { stringify } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return stringify(value);
}

/** What streamRows gathers before each write: a few hundred rows of a table, fewer of JSON. */
const STREAM_BLOCK = 64 * 1024;
const FIRST_BLOCK = 4 * 1024;

// A YAML list is the concatenation of one-element lists: toYaml's output, one element at a time.
function yamlList(): RowStream<unknown> {
  let n = 0;
  return {
    row: (row, out) => {
      n++;
      out.push(toYaml([row]));
    },
    end: (out) => {
      if (n === 0) out.push(toYaml([]));
    },
  };
}

/**
 * The same parser input with every argument taken from the command line only. oclif otherwise
 * reads a missing argument from a piped stdin, so `tusk list commit` in a script whose stdin is a
 * pipe would take the piped text for a repo. oclif spreads the input's own properties and reads
 * flags, baseFlags and enableJsonFlag by property access (inherited ones included): kept as such.
 */
function fromCommandLineOnly<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(input: Interfaces.Input<F, B, A>): Interfaces.Input<F, B, A> {
  const args = Object.fromEntries(Object.entries(input.args ?? {}).map(([name, arg]) => [name, { ...arg, ignoreStdin: true }]));
  return { ...input, args, flags: input.flags, baseFlags: input.baseFlags, enableJsonFlag: input.enableJsonFlag } as Interfaces.Input<F, B, A>;
}
