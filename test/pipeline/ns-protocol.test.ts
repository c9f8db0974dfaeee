// The request stream of `tusk-ns --serve` taken apart: requests the client never sends (too few
// strings, an ENV_COUNT that is not a number or runs past the request) are each answered with an
// error and an X line, and the server goes on serving; an ID of any length comes back whole.
// Driven byte by byte here, through the compiled helper: ExecServer only sends well-formed ones.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'native', 'tusk-ns');
const haveHelper = fs.existsSync(HELPER);
const namespaces =
  haveHelper && process.platform === 'linux' && spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--fork', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0;

interface Message {
  tag: string;
  id: string;
  rest: string[];
  data?: string;
}

/** A raw server: requests written as given; replies parsed as they come. */
class RawServer {
  readonly messages: Message[] = [];
  /** the replies as they were read, one string per read */
  readonly chunks: string[] = [];
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly child: ChildProcessByStdio<Writable, Readable, null>;

  constructor(args: string[]) {
    this.child = spawn(HELPER, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout.on('data', (d: Buffer) => this.onData(d));
    this.child.stdout.on('end', () => this.wake());
  }

  send(fields: string[]): void {
    this.child.stdin.write(`${fields.length}\0${fields.map((f) => `${f}\0`).join('')}`);
  }

  /** The request's messages once its X came (the test's own time limit fails a hang). */
  async ended(id: string): Promise<Message[]> {
    while (!this.messages.some((m) => m.tag === 'X' && m.id === id)) {
      if (this.child.stdout.readableEnded) throw new Error(`the server ended without answering ${id.slice(0, 40)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return this.messages.filter((m) => m.id === id);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onData(d: Buffer): void {
    this.chunks.push(d.toString('latin1'));
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl < 0) break;
      const [tag, id, ...rest] = this.buf.toString('latin1', 0, nl).split(' ');
      if (tag === 'O' || tag === 'E') {
        const len = Number(rest[0]);
        if (this.buf.length < nl + 1 + len) break;
        this.messages.push({ tag, id: id!, rest, data: this.buf.toString('utf8', nl + 1, nl + 1 + len) });
        this.buf = this.buf.subarray(nl + 1 + len);
      } else {
        this.messages.push({ tag: tag!, id: id ?? '', rest });
        this.buf = this.buf.subarray(nl + 1);
      }
    }
    this.wake();
  }
}

const servers: RawServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.child.stdin.end();
});

function expectRefused(messages: Message[], why: RegExp): void {
  expect(messages.map((m) => m.tag)).toEqual(['E', 'X']);
  expect(messages[0]!.data).toMatch(why);
  expect(messages[1]!.rest).toEqual(['126', '0']);
}

describe.runIf(haveHelper)('tusk-ns request stream', () => {
  for (const mode of ['--serve-plain', '--serve'] as const) {
    it.runIf(mode === '--serve-plain' || namespaces)(`${mode}: answers malformed requests with an error and goes on serving`, async () => {
      const server = new RawServer(mode === '--serve' ? ['--serve', fs.mkdtempSync('/tmp/tusk-ns-proto-')] : ['--serve-plain']);
      servers.push(server);
      server.send(['=', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`]);
      // too few strings
      server.send(['short', '/', '/']);
      expectRefused(await server.ended('short'), /malformed request: it needs an ID/);
      // an ENV_COUNT that wraps 5 + ENV_COUNT round to a small number
      server.send(['wraps', '/', '/', '', '18446744073709551615', 'true']);
      expectRefused(await server.ended('wraps'), /ENV_COUNT must be a number/);
      // one that is not a number, one that leaves no command
      server.send(['word', '/', '/', '', 'two', 'A=1', 'true']);
      expectRefused(await server.ended('word'), /ENV_COUNT must be a number/);
      server.send(['past', '/', '/', '', '2', 'A=1', 'B=2']);
      expectRefused(await server.ended('past'), /ENV_COUNT must be a number/);
      // and the next well-formed request still runs
      server.send(['fine', '/', '/', '', '1', 'GREETING=hi', 'sh', '-c', 'echo $GREETING']);
      const fine = await server.ended('fine');
      expect(fine.map((m) => m.tag)).toEqual(['S', 'O', 'X']);
      expect(fine[1]!.data).toBe('hi\n');
      expect(fine[2]!.rest).toEqual(['0', '0']);
    });
  }

  it('answers the end of a command and the start of the one queued behind it in one write (serial)', async () => {
    const server = new RawServer(['--serve-plain', '--serial']);
    servers.push(server);
    const request = (fields: string[]) => `${fields.length}\0${fields.map((f) => `${f}\0`).join('')}`;
    // every request in one write: each waits in the server until the one before it has ended
    const ids = Array.from({ length: 20 }, (_, i) => `q${i}`);
    server.child.stdin.write(request(['=', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`]) + ids.map((id) => request([id, '/', '/', '', '0', 'true'])).join(''));
    await server.ended(ids[ids.length - 1]!);
    // the caller is woken once per datum, not once for the end and again for the next start
    for (let i = 0; i + 1 < ids.length; i++) expect(server.chunks.find((c) => c.includes(`X ${ids[i]} `))).toContain(`S ${ids[i + 1]} `);
  });

  it('sends a long ID back whole, in every reply, without running into the next line', async () => {
    const server = new RawServer(['--serve-plain']);
    servers.push(server);
    server.send(['=', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`]);
    const long = 'i'.repeat(1000);
    server.send([long, '/', '/', '', '0', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    const ran = await server.ended(long);
    expect(ran.map((m) => m.tag).sort()).toEqual(['E', 'O', 'S', 'X']);
    expect(ran.find((m) => m.tag === 'S')!.rest).toEqual([expect.stringMatching(/^\d+$/)]);
    expect(ran.find((m) => m.tag === 'O')!.data).toBe('out\n');
    expect(ran.find((m) => m.tag === 'E')!.data).toBe('err\n');
    expect(ran.find((m) => m.tag === 'X')!.rest).toEqual(['3', '0']);
    // a refusal of a long ID as well
    server.send([long + 'x', '/']);
    expectRefused(await server.ended(long + 'x'), /malformed request/);
    server.send(['after', '/', '/', '', '0', 'true']);
    expect((await server.ended('after')).map((m) => m.tag)).toEqual(['S', 'X']);
    // nothing but these requests' own messages came back
    expect(new Set(server.messages.filter((m) => m.tag !== 'R').map((m) => m.id))).toEqual(new Set([long, long + 'x', 'after']));
  });
});
