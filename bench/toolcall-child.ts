/**
 * Child process for `bench toolcall`: one build's `chat` tool call in process, as the stdio server
 * runs it minus the SDK and the pipe: `bootstrap` with no provider key (the instant simulated
 * provider underneath), and per call `mcp.calls.track`, `callContext` on a minimal request
 * context, `invokeTool(chatTool, ...)` and `toCallToolResult`, at `inFlight` calls at a time.
 *
 * `node toolcall-child.js <dist>`: loads that build's modules (`<dist>/src/...`), so two builds
 * run the same driver. Driven over IPC by bench/toolcall.ts: `{ op: 'cpu', calls, inFlight }`
 * answers the CPU per call of that many calls (`process.cpuUsage`); `{ op: 'alloc', ... }` runs
 * them under a sampling heap profile that counts collected objects too and answers the bytes
 * allocated per call, with the top allocating functions.
 */
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Request {
  readonly op: 'cpu' | 'alloc';
  readonly calls: number;
  readonly inFlight: number;
  readonly top?: number;
}

interface ProfileNode {
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

const dist = resolve(process.argv[2] ?? '.');
const load = (path: string) => import(pathToFileURL(resolve(dist, path)).href);
const [{ bootstrap }, { chatTool }, { invokeTool, callContext, toCallToolResult }] = await Promise.all([
  load('src/cli/bootstrap.js'),
  load('src/mcp/tools/chat.js'),
  load('src/mcp/tool.js'),
]);
const { mcp } = await bootstrap({});

const ARGS = { prompt: 'benchmark', extra: { simulateLatencyMs: 0 } };
let nextId = 0;

async function oneCall(): Promise<void> {
  const controller = new AbortController();
  const id = nextId++;
  // What the SDK hands a stdio request handler, as far as troupe's tool call reads it.
  const ctx = {
    sessionId: undefined,
    mcpReq: {
      id,
      signal: controller.signal,
      _meta: undefined,
      log: () => Promise.resolve(),
      notify: () => Promise.resolve(),
    },
  };
  const tracked = mcp.calls.track(ctx.sessionId, id, ctx.mcpReq.signal);
  try {
    // A fresh copy of the arguments per call, as the SDK parses them from each message.
    const args = { prompt: ARGS.prompt, extra: { simulateLatencyMs: 0 } };
    const result = toCallToolResult(await invokeTool(chatTool, args, mcp, callContext(ctx, tracked.signal)));
    if (result.isError === true) throw new Error(`chat failed: ${JSON.stringify(result.content)}`);
  } finally {
    tracked.release();
  }
}

async function drive(calls: number, inFlight: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      await oneCall();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

function topSites(head: ProfileNode, top: number, calls: number): Record<string, number> {
  const bySite = new Map<string, number>();
  const walk = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const site = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk(head);
  return Object.fromEntries(
    [...bySite.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([site, bytes]) => [site, Math.round(bytes / calls)]),
  );
}

function total(node: ProfileNode): number {
  return node.children.reduce((sum, child) => sum + total(child), node.selfSize);
}

async function allocation(calls: number, inFlight: number, top: number) {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await drive(calls, inFlight);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
  session.disconnect();
  return { bytesPerCall: Math.round(total(profile.head) / calls), top: topSites(profile.head, top, calls) };
}

process.on('message', (request: Request) => {
  const answer = async () => {
    if (request.op === 'alloc') return allocation(request.calls, request.inFlight, request.top ?? 0);
    const cpu = process.cpuUsage();
    await drive(request.calls, request.inFlight);
    const used = process.cpuUsage(cpu);
    return { cpuUsPerCall: (used.user + used.system) / request.calls };
  };
  answer().then(
    (figures) => process.send?.({ ok: true, figures }),
    (error: unknown) => process.send?.({ ok: false, error: String(error) }),
  );
});
process.send?.({ ok: true, figures: { ready: true } });
process.on('disconnect', () => {
  mcp.close();
  process.exit(0);
});
