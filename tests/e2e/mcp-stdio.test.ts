/**
 * `troupe stdio` as a host runs it: the BUILT CLI spawned by the SDK's stdio client.
 * Run `npx tsc -p tsconfig.build.json` (or `npm test`) first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = 'dist/src/cli/main.js';
const open: Client[] = [];

async function connect(
  env: Record<string, string> = {},
  drainMs = 300,
): Promise<{ client: Client; transport: StdioClientTransport; stderr: () => string }> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'stdio', '--drain-ms', String(drainMs)],
    env: { PATH: process.env.PATH ?? '', TROUPE_PROGRESS_MS: '200', ...env },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(transport);
  open.push(client);
  return { client, transport, stderr: () => err };
}

afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

/**
 * The built CLI's `troupe stdio` (JSON logs) driven by raw JSON-RPC lines, initialized as a
 * 2025-11-25 client: what it wrote so far, on stdout and stderr, and its exit.
 */
async function rawStdio(args: readonly string[]) {
  const child = spawn(process.execPath, [CLI, 'stdio', ...args], {
    env: { PATH: process.env.PATH ?? '', TROUPE_LOG_FORMAT: 'json' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const collect = (d: Buffer) => {
    out += d.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const send = (message: object) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  send({
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } },
  });
  // A cold start of the built CLI on a loaded machine takes seconds: poll's own 1 s is too short.
  await expect.poll(() => out, { timeout: 20_000 }).toContain('"id":0');
  send({ method: 'notifications/initialized' });
  return {
    child,
    send,
    exited,
    out: () => out,
    err: () => err,
    /** The host stops reading stdout, its pipe still open. */
    stopReading: () => {
      child.stdout.off('data', collect);
      child.stdout.pause();
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary tool JSON
const structured = (r: unknown) => (r as { structuredContent: Record<string, any> }).structuredContent;
const slow = { extra: { simulateLatencyMs: 2000 } };

describe('troupe stdio (built CLI)', () => {
  it('lists tools, calls every tool, says once on stderr that it is simulated', async () => {
    const { client, stderr } = await connect({ TROUPE_ROOTS: process.cwd() });
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(6);
    // The version installed, read from package.json: a copy in the code went stale unseen.
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(client.getServerVersion()).toMatchObject({ name: 'troupe', version: pkg.version });
    const printed = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
    expect(printed).toMatchObject({ status: 0, stdout: `troupe ${pkg.version}\n` });
    const chat = structured(await client.callTool({ name: 'chat', arguments: { prompt: 'hi' } }));
    expect(chat).toMatchObject({ ok: true, session: { state: 'done', provider: 'simulated' } });
    const files = structured(
      await client.callTool({
        name: 'multi_file_chat',
        arguments: { files: ['package.json'], prompt: 'what is it?' },
      }),
    );
    expect(files.ok).toBe(true);
    const consensus = structured(
      await client.callTool({
        name: 'consensus',
        arguments: { prompt: 'q', models: [{ model: 'sim-fast' }, { model: 'sim-pro' }] },
      }),
    );
    expect(consensus.succeeded).toBe(2);
    expect(structured(await client.callTool({ name: 'list_models', arguments: {} })).simulated).toBe(true);
    expect(
      structured(
        await client.callTool({ name: 'sessions', arguments: { session_id: chat.session.sessionId } }),
      ).ok,
    ).toBe(true);
    expect(
      structured(
        await client.callTool({ name: 'cancel_session', arguments: { session_id: chat.session.sessionId } }),
      ).cancelled,
    ).toBe(false);
    expect(stderr().match(/simulated provider/g)).toHaveLength(1);
  });

  // With a key set, stdio said nothing at all on stderr: no start line, no stop line, nothing at
  // debug; a host's MCP log had nothing to debug with.
  it('logs a start line naming the providers, each session end at debug, and a stop line', async () => {
    const { client, transport, stderr } = await connect({
      MOONSHOT_API_KEY: 'sk-stdio-log-test-0123456789',
      KIMI_BASE_URL: 'http://127.0.0.1:9/v1',
      TROUPE_LOG_LEVEL: 'debug',
    });
    const failed = structured(
      await client.callTool({
        name: 'chat',
        arguments: { prompt: 'hi', model: 'kimi-k2.6', extra: { n: 1 } },
      }),
    );
    expect(failed.ok).toBe(false);
    // list_models said `simulated/sim-fast` whatever the keys; calls naming nothing went to Kimi.
    const listed = structured(await client.callTool({ name: 'list_models', arguments: {} }));
    const kimi = listed.providers.find((p: { name: string }) => p.name === 'kimi');
    expect(listed.defaults.provider).toBe('kimi');
    expect(kimi.models.map((m: { id: string }) => m.id)).toContain(listed.defaults.model);
    const exited = new Promise((resolve) => (transport.onclose = () => resolve(undefined)));
    await client.close();
    await exited;
    await expect.poll(() => stderr()).toContain('stopped;');
    const lines = stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'serving MCP on stdio; providers: kimi' });
    const id = failed.session.sessionId;
    expect(lines.map((l) => l.msg)).toContain(
      `session ${id}: failed (NETWORK) on kimi/kimi-k2.6 after ${failed.session.attempts} attempt(s), ${failed.session.totalMs} ms`,
    );
    expect(lines.some((l) => l.level === 'debug' && /: NETWORK, attempt 2 in \d+ ms$/.test(l.msg))).toBe(
      true,
    );
    expect(lines.at(-1)).toMatchObject({
      level: 'info',
      msg: 'stdin closed: stopped; 0 session(s) finished while draining, 0 cancelled',
    });
    expect(stderr()).not.toContain('sk-stdio-log-test');
  });

  // It logged `write EPIPE` and went on running calls nobody could read, until stdin closed.
  it('stops when the host stops reading its stdout, stdin still open', async () => {
    const child = spawn(process.execPath, [CLI, 'stdio', '--drain-ms', '5000'], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise((r) => child.stderr.once('data', r));
    child.stdout.destroy();
    const started = performance.now();
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })}\n`);
    expect(await exited).toBe(0);
    expect(performance.now() - started).toBeLessThan(4000);
    expect(err).toContain('stdout closed: stopped;');
    child.stdin.destroy();
  });

  // The SDK aborts a closed transport's calls before the stop begins: the stop line said
  // "0 cancelled" for three calls cut, and an operator read it as nothing lost.
  it('counts the calls cut when stdin closes in the stop line’s cancelled', async () => {
    const { child, send, out, err, exited } = await rawStdio(['--drain-ms', '5000']);
    for (const id of [1, 2, 3])
      send({
        id,
        method: 'tools/call',
        params: { name: 'chat', arguments: { prompt: `never ${id}`, extra: { simulateLatencyMs: 60_000 } } },
      });
    // Answered after the three calls were taken: their sessions are running.
    send({ id: 9, method: 'ping' });
    await expect.poll(out, { timeout: 20_000 }).toContain('"id":9');
    child.stdin.end();
    expect(await exited).toBe(0);
    const last = JSON.parse(err().trim().split('\n').at(-1) ?? '{}') as {
      msg?: string;
      cancelled?: number;
      ended?: Record<string, number>;
    };
    expect(last.msg).toBe('stdin closed: stopped; 0 session(s) finished while draining, 3 cancelled');
    expect(last.cancelled).toBe(3);
    // `ended` says the same (it was {} while a task's cancelled session showed there: an audit).
    expect(last.ended).toEqual({ cancelled: 3 });
  });

  // An audit (2026-12-04): a host that kept its pipe open but stopped reading left the server
  // running its calls, and 400 unread 1 MB prompts took it from 98 MB to 1.08 GB.
  it('stops, cancelling its calls, when the host leaves stdout unread with the pipe open', async () => {
    const { child, send, out, err, exited, stopReading } = await rawStdio(['--stalled-output-ms', '1000']);
    // It stops with 20 MB of our requests unread: the writes still pending then fail (EPIPE), as
    // they should; unhandled, that error failed the file when the stop came first (under load).
    child.stdin.on('error', () => undefined);
    send({
      id: 1,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'never read', extra: { simulateLatencyMs: 60_000 } } },
    });
    send({ id: 2, method: 'ping' });
    await expect.poll(out, { timeout: 20_000 }).toContain('"id":2');
    // The host stops reading, its pipe still open, and asks for answers of 1 MB each.
    stopReading();
    const started = performance.now();
    const content = 'y'.repeat(1_000_000);
    for (let id = 10; id < 30; id++)
      send({ id, method: 'prompts/get', params: { name: 'review', arguments: { content } } });
    expect(await exited).toBe(0);
    // The first batch the host takes nothing of for 1 s, looked at once a second: within 2 s or so.
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(err()).toContain('Expected the host to read stdout, got no part of');
    const last = JSON.parse(err().trim().split('\n').at(-1) ?? '{}') as { msg?: string; cancelled?: number };
    expect(last.msg).toMatch(/^stdout closed: stopped; 0 session\(s\) finished while draining, 1 cancelled/);
    child.stdin.destroy();
  }, 60_000);

  it('started in the filesystem’s root with no TROUPE_ROOTS, as a desktop host may, reads no file and says why', async () => {
    // Claude Desktop starts stdio servers in `/` on macOS; that root used to be multi_file_chat's.
    const dir = mkdtempSync(join(tmpdir(), 'troupe-roots-'));
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'private notes\n');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [resolve(CLI), 'stdio', '--drain-ms', '300'],
      cwd: '/',
      env: { PATH: process.env.PATH ?? '', TROUPE_LOG_FORMAT: 'json' },
      stderr: 'pipe',
    });
    let err = '';
    transport.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const client = new Client({ name: 'e2e', version: '1' });
    try {
      await client.connect(transport);
      open.push(client);
      const result = await client.callTool({
        name: 'multi_file_chat',
        arguments: { files: [file], prompt: 'what is in it?' },
      });
      expect(result.isError).toBe(true);
      expect(structured(result).error.message).toMatch(/no root folders configured.*Set TROUPE_ROOTS/);
      expect(err).toMatch(/TROUPE_ROOTS is not set and the working directory is the filesystem's root/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('invalid arguments and unknown models give clear error results', async () => {
    const { client } = await connect();
    const bad = await client.callTool({ name: 'consensus', arguments: { prompt: 'q', models: [] } });
    expect(bad.isError).toBe(true);
    expect(structured(bad).error.code).toBe('INVALID_REQUEST');
    const unknown = await client.callTool({
      name: 'chat',
      arguments: { prompt: 'q', model: 'no-such-model' },
    });
    expect(unknown.isError).toBe(true);
    expect(structured(unknown).error.code).toBe('MODEL_NOT_FOUND');
    expect(structured(unknown).error.hint).toMatch(/list_models/);
  });

  it('sends progress for a slow call and cancels it on MCP cancellation', async () => {
    const { client } = await connect();
    const updates: string[] = [];
    const done = await client.callTool(
      { name: 'chat', arguments: { prompt: 'slow', ...slow } },
      { onprogress: (p) => updates.push(p.message ?? '') },
    );
    expect(structured(done).ok).toBe(true);
    expect(updates.length).toBeGreaterThanOrEqual(3);
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'chat', arguments: { prompt: 'cancel me', ...slow } },
      { signal: controller.signal },
    );
    await new Promise((r) => setTimeout(r, 200));
    controller.abort('stop');
    await expect(call).rejects.toThrow();
    const status = structured(await client.callTool({ name: 'sessions', arguments: {} }));
    await expect
      .poll(
        async () => structured(await client.callTool({ name: 'sessions', arguments: {} })).recent[0]?.state,
      )
      .toBe('cancelled');
    expect(status.ok).toBe(true);
  });

  it('SIGTERM during 50 in-flight calls ends every one with a result or a clear error', async () => {
    // Half finish inside the drain deadline, half outlast it; SIGTERM once all 50 are live.
    const { client, transport } = await connect({}, 3000);
    const calls = Array.from({ length: 50 }, (_, i) =>
      client.callTool({
        name: 'chat',
        arguments: { prompt: `c${i}`, extra: { simulateLatencyMs: i % 2 ? 1000 : 60_000 } },
      }),
    );
    for (let live = 0; live < 50; ) {
      await new Promise((r) => setTimeout(r, 50));
      const status = structured(await client.callTool({ name: 'sessions', arguments: {} }));
      live = Number(status.queued) + Number(status.running);
    }
    process.kill(transport.pid!, 'SIGTERM');
    const settled = await Promise.all(
      calls.map((c) =>
        c.then(
          (r) => structured(r),
          (e: Error): Record<string, unknown> & { thrown?: string } => ({ thrown: e.message }),
        ),
      ),
    );
    expect(settled.filter((s) => 'thrown' in s)).toEqual([]);
    const codes = settled.map((s) => (s.ok ? 'ok' : s.error.code));
    expect(codes.filter((c) => c === 'ok').length).toBe(25);
    // The slow half is cut at the drain deadline and told why.
    for (const code of codes.filter((c) => c !== 'ok')) expect(code).toBe('SHUTTING_DOWN');
    expect(settled.filter((s) => !s.ok).every((s) => typeof s.error.hint === 'string')).toBe(true);
  });
});
