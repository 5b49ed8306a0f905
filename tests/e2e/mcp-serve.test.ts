/**
 * `troupe serve` as a user runs it: the BUILT CLI on a free port, the SDK client over Streamable
 * HTTP, and SIGTERM while 50 calls are in flight. Run `npx tsc -p tsconfig.build.json` first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = 'dist/src/cli/main.js';
let child: ChildProcess | undefined;

async function serve(
  drainMs = 300,
): Promise<{ url: URL; stderr: () => string; exited: Promise<number | null> }> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--drain-ms', String(drainMs)], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  const url = await new Promise<URL>((resolve, reject) => {
    child!.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving MCP at (\S+?)[;\s]/.exec(err);
      if (m) resolve(new URL(m[1]!));
    });
    child!.once('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
  return { url, stderr: () => err, exited };
}

afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

// biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary tool JSON
const structured = (r: unknown) => (r as { structuredContent: Record<string, any> }).structuredContent;

describe('troupe serve (built CLI)', () => {
  it('prints one start line naming the simulated provider, and serves both eras', async () => {
    const { url, stderr } = await serve();
    expect(stderr().trim().split('\n')).toHaveLength(1);
    expect(stderr()).toMatch(/127\.0\.0\.1:\d+\/mcp.*simulated provider/);
    for (const options of [{}, { versionNegotiation: { mode: { pin: '2026-07-28' } } }] as const) {
      const client = new Client({ name: 'e2e', version: '1' }, options);
      await client.connect(new StreamableHTTPClientTransport(url));
      const r = await client.callTool({ name: 'chat', arguments: { prompt: 'hi' } });
      expect(structured(r).ok).toBe(true);
      await client.close();
    }
  });

  it('SIGTERM during 50 in-flight calls ends every one with a result or a clear error, then exits 0', async () => {
    // Half finish inside the drain deadline, half outlast it; SIGTERM only once all 50 have
    // arrived (live, or ended: a short call may end before the last one arrives on a loaded
    // machine, and ends the same before or after the signal), so a slow machine cannot turn a call
    // that never arrived into a false pass or failure. Until 2026-12-05 it waited for all 50 to be
    // live at once, and waited to its timeout when a 3 s call ended first (once, under load).
    const { url, exited } = await serve(10_000);
    const client = new Client({ name: 'e2e', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(url));
    const calls = Array.from({ length: 50 }, (_, i) =>
      client.callTool({
        name: 'chat',
        arguments: { prompt: `c${i}`, extra: { simulateLatencyMs: i % 2 ? 3000 : 60_000 } },
      }),
    );
    for (let arrived = 0; arrived < 50; ) {
      await new Promise((r) => setTimeout(r, 50));
      const status = structured(
        await client.callTool({ name: 'sessions', arguments: { recent_limit: 100 } }),
      );
      const ended = (status.recent as { state: string }[]).filter((s) => s.state === 'done').length;
      arrived = Number(status.queued) + Number(status.running) + ended;
    }
    child!.kill('SIGTERM');
    const settled = await Promise.all(
      calls.map((c) =>
        c.then(
          (r) => structured(r),
          (e: Error): Record<string, unknown> & { thrown?: string } => ({ thrown: e.message }),
        ),
      ),
    );
    expect(settled.filter((s) => 'thrown' in s)).toEqual([]);
    const failed = settled.filter((s) => !s.ok);
    expect(settled.length - failed.length).toBe(25);
    for (const s of failed) expect(s.error.code).toBe('SHUTTING_DOWN');
    expect(await exited).toBe(0);
  }, 60_000);

  it('a second SIGTERM while draining exits at once with code 130 and says so', async () => {
    const { url, stderr, exited } = await serve(10_000);
    const client = new Client({ name: 'e2e', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(url));
    void client
      .callTool({ name: 'chat', arguments: { prompt: 'slow', extra: { simulateLatencyMs: 30_000 } } })
      .catch(() => {});
    for (let live = 0; live < 1; ) {
      await new Promise((r) => setTimeout(r, 50));
      live = Number(structured(await client.callTool({ name: 'sessions', arguments: {} })).running);
    }
    child!.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    child!.kill('SIGTERM');
    expect(await exited).toBe(130);
    // Until 2026-12-04 it exited without a word.
    expect(stderr()).toContain(
      'troupe: SIGTERM again while draining: exiting now (code 130); calls still in flight get no answer',
    );
  }, 30_000);
});
