/**
 * Fuzzing `troupe stdio` (the built CLI) with fast-check: generated lines (JSON-RPC messages, tool
 * calls, garbage, deep nesting) written to stdin. Invariants: after every batch a ping still gets
 * its answer; every line on stdout is a JSON-RPC message; every unparseable line got a -32700;
 * the provider key (a canary) appears nowhere; RSS stays under a bound.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenAIServer } from '../../src/testing/openai-server.js';
import { deepRpcText, rpcMessage, toolCall } from './arbitraries.js';
import { leaksCanary, type RunningServer, serverEnv, spawnCli, startProvider } from './server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const RSS_BOUND_BYTES = 450 * 1024 * 1024;

let provider: OpenAIServer;
let server: RunningServer;
let stdout = '';
let peakRss = 0;

function stdoutLines(): unknown[] {
  // Only complete lines: a large answer arrives in several chunks.
  return stdout
    .slice(0, stdout.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}

function waitFor(match: (m: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (stdoutLines().some((m) => match(m as Record<string, unknown>))) return resolve();
      if (!server.alive()) return reject(new Error(`stdio server died: ${server.output().slice(-2000)}`));
      if (Date.now() > deadline) return reject(new Error('no answer in time'));
      setTimeout(check, 10);
    };
    check();
  });
}

const write = (line: string) => server.child.stdin!.write(`${line}\n`);

beforeAll(async () => {
  provider = await startProvider();
  server = spawnCli(['stdio', '--drain-ms', '300'], serverEnv(provider, { TROUPE_LOG_LEVEL: 'warn' }));
  server.child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  write(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
    }),
  );
  await waitFor((m) => m.id === 'init');
  write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
}, 30_000);

afterAll(async () => {
  await server?.stop();
  await provider?.close();
});

const line: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: rpcMessage.map((m) => JSON.stringify(m)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(toolCall, fc.nat())
      .map(([params, i]) => JSON.stringify({ jsonrpc: '2.0', id: `t${i}`, method: 'tools/call', params })),
  },
  {
    weight: 1,
    arbitrary: deepRpcText,
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 80 }).map((s) => s.replace(/\n/g, ' ')) },
);

describe('fuzzing troupe stdio', () => {
  it('answers every line, keeps serving, and says -32700 to each unparseable one', async () => {
    let pings = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 6 }), async (lines) => {
        const parseErrorsBefore = countParseErrors();
        const unparseable = lines.filter((l) => l.trim() !== '' && !isJson(l)).length;
        for (const l of lines) write(l);
        pings += 1;
        const id = `ping-${pings}`;
        write(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }));
        await waitFor((m) => m.id === id);
        expect(countParseErrors() - parseErrorsBefore).toBe(unparseable);
        peakRss = Math.max(peakRss, server.rssBytes());
      }),
      { numRuns: 60 * RUNS },
    );
  }, 120_000);

  it('wrote only JSON-RPC to stdout, leaked no key, and stayed under the memory bound', () => {
    for (const m of stdoutLines()) expect((m as { jsonrpc?: unknown }).jsonrpc).toBe('2.0');
    expect(leaksCanary(stdout)).toBe(false);
    expect(leaksCanary(server.output())).toBe(false);
    expect(server.alive()).toBe(true);
    expect(peakRss).toBeLessThan(RSS_BOUND_BYTES);
  });
});

function countParseErrors(): number {
  return stdoutLines().filter((m) => (m as { error?: { code?: number } }).error?.code === -32700).length;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
