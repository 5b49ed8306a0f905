/**
 * `node --expose-gc dist/bench/memory.js <queued|running> <count>`: prints the bytes of heap per
 * session with `count` sessions held in that state; the median of three measurements after a first.
 * Run in a process of its own by `bench/runtime.ts`, so nothing else is being freed meanwhile.
 */
import type { ChatProvider, ChatResponse } from '../src/providers/port.js';
import { createRuntime } from '../src/runtime/runtime.js';

const REQUEST = { messages: [{ role: 'user' as const, content: 'hi' }] };
const ANSWER: ChatResponse = { content: 'ok' };

async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: (options?: object) => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  await new Promise((resolve) => setImmediate(resolve));
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

async function heldBytesPer(state: 'queued' | 'running', count: number): Promise<number> {
  const releases: (() => void)[] = [];
  const holding: ChatProvider = {
    name: 'holding',
    complete: () => new Promise<ChatResponse>((resolve) => releases.push(() => resolve(ANSWER))),
    // biome-ignore lint/correctness/useYield: never streamed here.
    async *stream() {
      throw new Error('not used');
    },
  };
  const runtime = createRuntime({
    providers: [holding],
    defaults: { model: 'm' },
    limits: { maxConcurrent: state === 'running' ? count : 1, maxQueued: count + 1 },
  });
  await collect();
  const before = process.memoryUsage().heapUsed;
  const handles = [];
  for (let i = 0; i < count; i++) handles.push(runtime.submit(REQUEST));
  await collect();
  const after = process.memoryUsage().heapUsed;
  for (const h of handles) h.cancel('benchmark over');
  await Promise.all(handles.map((h) => h.result));
  await runtime.shutdown();
  return (after - before) / count;
}

const [state = 'queued', count = '10000'] = process.argv.slice(2);
if (state !== 'queued' && state !== 'running') throw new Error(`Expected queued or running, got ${state}`);
const values: number[] = [];
for (let i = 0; i < 4; i++) values.push(await heldBytesPer(state, Number(count)));
const measured = values.slice(1).sort((a, b) => a - b);
process.stdout.write(`${Math.round(measured[1] as number)}\n`);
