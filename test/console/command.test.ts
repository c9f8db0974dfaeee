// `tusk console` as a command: what it prints, the token it makes for a non-loopback address,
// a port already taken, and a quiet exit on Ctrl-C.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTusk } from '../cli/cli-helpers.js';
import { tempStore } from '../helpers.js';
import { startConsoleProcess } from './console-helpers.js';

let env: ReturnType<typeof tempStore>;

beforeAll(async () => {
  env = tempStore();
  await env.store.createRepo('images');
});
afterAll(() => env?.cleanup());

describe('tusk console', () => {
  it('serves on loopback without a token and stops with status 0 on Ctrl-C', async () => {
    const c = await startConsoleProcess(env.dir);
    try {
      expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const repos = (await (await fetch(`${c.origin}/api/repos`)).json()) as { name: string }[];
      expect(repos.map((r) => r.name)).toEqual(['images']);
      const page = await fetch(`${c.origin}/`);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await page.text()).toContain('<script type="module" src="/app.js">');
    } finally {
      expect(await c.stop()).toBe(0);
    }
    expect(c.stderr()).toBe('');
  });

  it('makes and prints an access token when bound to another address', async () => {
    const c = await startConsoleProcess(env.dir, ['--host', '0.0.0.0']);
    try {
      const url = new URL(c.url);
      const token = url.searchParams.get('token')!;
      expect(token).toMatch(/^[\w-]{32}$/);
      const local = `http://127.0.0.1:${url.port}`;
      expect((await fetch(`${local}/api/repos`)).status).toBe(401);
      expect((await fetch(`${local}/api/repos`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await c.stop();
    }
  });

  it('reports a port in use, and refuses a token that is too short', async () => {
    const c = await startConsoleProcess(env.dir);
    try {
      const r = await runTusk(['console', '--port', new URL(c.url).port, '--json'], { env: { TUSK_STORE: env.dir } });
      expect(r.code).toBe(3);
      expect(r.json().error).toMatchObject({ code: 'E_CONFLICT', message: expect.stringMatching(/already in use/) });
    } finally {
      await c.stop();
    }
    const short = await runTusk(['console', '--port', '0', '--token', 'abc', '--json'], { env: { TUSK_STORE: env.dir } });
    expect(short.code).toBe(2);
    expect(short.json().error.code).toBe('E_INVALID');
  });
});
