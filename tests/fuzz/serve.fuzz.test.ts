/**
 * Fuzzing `troupe serve` (the built CLI) over real HTTP with fast-check: generated JSON-RPC
 * messages, tool calls (sizes, types, unicode, nesting), headers and paths. Invariants after every
 * request: the server is up; the answer is a well-formed JSON-RPC answer or a 4xx, never a 5xx;
 * the provider key (a canary) appears in no answer and no log line; RSS stays under a bound.
 * FUZZ_RUNS scales the runs (default sized to about 40 s on a loaded 2-core machine).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenAIServer } from '../../src/testing/openai-server.js';
import { deepRpcText, headers, methods, paths, rpcMessage, toolCall } from './arbitraries.js';
import { type Answer, problemWith, send } from './http.js';
import { leaksCanary, type RunningServer, serverEnv, startProvider, startServe } from './server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
/** RSS the server may reach under fuzzing (a fresh one is ~90 MB; conversations cap at 64 MiB). */
const RSS_BOUND_BYTES = 450 * 1024 * 1024;

let provider: OpenAIServer;
let server: RunningServer;
let url: URL;
let sessionId: string;
const answers: string[] = [];
let peakRss = 0;

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A 2025-era MCP session, initialized, for calls that need one. */
async function initSession(): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: { tasks: {} },
        clientInfo: { name: 'fuzz', version: '1' },
      },
    }),
  });
  await res.text();
  const sid = res.headers.get('mcp-session-id') ?? '';
  await send(url, {
    headers: { ...JSON_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  return sid;
}

function judge(answer: Answer, onMcp: boolean): void {
  answers.push(answer.body);
  const problem = problemWith(answer, onMcp);
  if (problem !== undefined) throw new Error(problem);
  if (!server.alive()) throw new Error(`server died: ${server.output().slice(-2000)}`);
  peakRss = Math.max(peakRss, server.rssBytes());
}

beforeAll(async () => {
  provider = await startProvider();
  ({ server, url } = await startServe(serverEnv(provider)));
  sessionId = await initSession();
}, 30_000);

afterAll(async () => {
  await server?.stop();
  await provider?.close();
});

describe('fuzzing troupe serve over HTTP', () => {
  it('answers generated JSON-RPC messages with JSON-RPC or a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 8, arbitrary: rpcMessage.map((m) => JSON.stringify(m)) },
          { weight: 1, arbitrary: deepRpcText },
        ),
        fc.boolean(),
        async (body, inSession) => {
          const answer = await send(url, {
            headers: {
              ...JSON_HEADERS,
              ...(inSession
                ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }
                : { 'mcp-protocol-version': '2026-07-28' }),
            },
            body,
          });
          judge(answer, true);
        },
      ),
      { numRuns: 120 * RUNS },
    );
  }, 120_000);

  it('answers generated tool calls (sizes, types, unicode, nesting) with a result or a JSON-RPC error', async () => {
    let id = 1000;
    await fc.assert(
      fc.asyncProperty(toolCall, fc.boolean(), async (params, asTask) => {
        id += 1;
        const answer = await send(url, {
          headers: { ...JSON_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id,
            method: 'tools/call',
            params: asTask ? { ...params, task: { ttl: 5000 } } : params,
          }),
        });
        judge(answer, true);
      }),
      { numRuns: 150 * RUNS },
    );
  }, 150_000);

  it('answers generated methods, paths, headers and bodies with no 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        methods,
        paths,
        headers,
        fc.oneof(
          fc.constant(undefined),
          fc.string({ maxLength: 200 }),
          rpcMessage.map((m) => JSON.stringify(m)),
        ),
        async (method, path, hs, body) => {
          const answer = await send(url, {
            method,
            path,
            headers: hs as Record<string, string>,
            ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }),
          });
          judge(answer, path.startsWith('/mcp') && answer.status < 300);
        },
      ),
      { numRuns: 150 * RUNS },
    );
  }, 120_000);

  it('kept the server up, leaked no key anywhere, and stayed under the memory bound', async () => {
    // One more ordinary call proves it still serves.
    const answer = await send(url, {
      headers: { ...JSON_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'list_models', arguments: {} },
      }),
    });
    expect(answer.status).toBe(200);
    expect(server.alive()).toBe(true);
    // The provider did receive the canary (so a leak was possible) ...
    expect(provider.requests.length).toBeGreaterThan(0);
    // ... and nothing the server said or logged carries it.
    expect(leaksCanary(answers.join('\n'))).toBe(false);
    expect(leaksCanary(server.output())).toBe(false);
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(RSS_BOUND_BYTES);
  });
});
