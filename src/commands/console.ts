import { spawn } from 'node:child_process';
import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { DEFAULT_HOST, DEFAULT_PORT, isLoopbackHost, newToken, startConsole } from '../app/console.js';

/** What `--json` prints once the console listens (the command then runs until interrupted). */
export type ConsoleResult = { url: string; host: string; port: number; tokenRequired: boolean };

export default class Console extends TuskCommand<ConsoleResult> {
  static override summary = 'Serve a read-only web console for the store.';
  static override description =
    'Repos, commit history and provenance, a file browser with previews and diffs, the pipeline graph, ' +
    'jobs, datums and logs updating live, and model metrics across versions. Binds 127.0.0.1 by default; ' +
    'binding another address (--host) needs an access token, made for you unless given with --token or ' +
    'TUSK_CONSOLE_TOKEN, and printed in the URL. Runs until interrupted (Ctrl-C).';
  static override examples = [
    '<%= config.bin %> console',
    '<%= config.bin %> console --port 8080 --open',
    '<%= config.bin %> console --host 0.0.0.0 --token "$(openssl rand -hex 16)"',
  ];
  static override flags = {
    port: Flags.integer({ char: 'p', description: 'Port to listen on (0 picks a free one).', default: DEFAULT_PORT, min: 0, max: 65535 }),
    host: Flags.string({ description: 'Address to bind; anything but loopback needs an access token.', default: DEFAULT_HOST }),
    token: Flags.string({ description: 'Access token required from browsers and API clients.', env: 'TUSK_CONSOLE_TOKEN' }),
    open: Flags.boolean({ description: 'Open the console in the default browser.' }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ConsoleResult> {
    const { flags } = await this.parse(Console);
    const token = flags.token ?? (isLoopbackHost(flags.host) ? null : newToken());
    const running = await startConsole(await this.tusk(), {
      host: flags.host,
      port: flags.port,
      token,
      version: this.config.version,
      onError: (err) => process.stderr.write(`console: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`),
    });
    // A server stopped with Ctrl-C has done its job: close quietly with status 0, before the base
    // command's handler reports an interruption.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.prependOnceListener(signal, () => {
        void running.close();
        process.exit(0);
      });
    }
    const result: ConsoleResult = { url: running.url, host: running.host, port: running.port, tokenRequired: token !== null };
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify(result) + '\n');
    this.render(() => `tusk console: ${running.url}\nRead-only. Press Ctrl-C to stop.`);
    if (flags.open) openBrowser(running.url);
    await new Promise<void>((resolve) => running.server.once('close', () => resolve()));
    return result;
  }
}

// Best effort: a machine without a desktop simply has no browser to open.
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args as string[], { detached: true, stdio: 'ignore' });
    child.on('error', () => process.stderr.write(`could not open a browser; open ${url}\n`));
    child.unref();
  } catch {
    process.stderr.write(`could not open a browser; open ${url}\n`);
  }
}
