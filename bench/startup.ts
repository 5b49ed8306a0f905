/**
 * `npm run bench -- startup [--json] [--rounds 10]`: how long `troupe stdio` takes, from its spawn,
 * to answer `initialize` and then `tools/list`, as a host sees it at every launch. Sides, each a fresh
 * process per round, rounds interleaved (the order rotates), medians:
 * - `troupe`: the built CLI with no provider key (the simulated provider);
 * - `keyed`: the same with a Kimi key set (its adapter, the `openai` SDK and undici load; its base
 *   URL points at a closed local port, and nothing is called at start);
 * - `bare`: the bare SDK v2 stdio server with one `chat` tool (`bench/stdio-bare.ts`), the baseline.
 * `BENCH_STARTUP_BEFORE=<checkout>` adds `before`, that checkout's built CLI with no key.
 * Prints each side's milliseconds to `initialize` (`initMs`) and to `tools/list` after it
 * (`listMs`), and `initRatio` (troupe over bare), `keyedInitRatio`, `vsBeforeInitRatio`.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, median, print, round } from './support.js';

interface Side {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

const NO_KEYS = {
  MOONSHOT_API_KEY: '',
  KIMI_API_KEY: '',
  ZHIPUAI_API_KEY: '',
  ZAI_API_KEY: '',
  GLM_API_KEY: '',
};
const line = (message: object) => `${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`;
const INITIALIZE = line({
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
});
const LIST = `${line({ method: 'notifications/initialized' })}${line({ id: 2, method: 'tools/list', params: {} })}`;

/** One start of `side`: milliseconds from the spawn to the `initialize` answer, and from there to `tools/list`'s. */
function once(side: Side): Promise<{ initMs: number; listMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, side.args, {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, ...NO_KEYS, TROUPE_PROVIDERS_FILE: '', ...side.env },
  });
  return new Promise((done, fail) => {
    let seen = '';
    let initAt: number | undefined;
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`${side.name} exited (${code}) before answering`)));
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (initAt === undefined && seen.includes('"id":1')) {
        initAt = performance.now();
        child.stdin.write(LIST);
      }
      if (initAt !== undefined && seen.includes('"id":2')) {
        const listed = performance.now();
        child.removeAllListeners('exit');
        child.kill();
        done({ initMs: initAt - started, listMs: listed - initAt });
      }
    });
    child.stdin.write(INITIALIZE);
  });
}

export async function run(argv: readonly string[]): Promise<void> {
  const rounds = flag(argv, 'rounds', 10);
  const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
  const cli = here('../src/cli/main.js');
  const sides: Side[] = [
    { name: 'troupe', args: [cli, 'stdio'], env: {} },
    {
      name: 'keyed',
      args: [cli, 'stdio'],
      env: { MOONSHOT_API_KEY: 'sk-bench-0123456789abcdef', KIMI_BASE_URL: 'http://127.0.0.1:9/v1' },
    },
    { name: 'bare', args: [here('./stdio-bare.js')], env: {} },
  ];
  const before = process.env.BENCH_STARTUP_BEFORE;
  if (before)
    sides.push({ name: 'before', args: [resolve(before, 'dist/src/cli/main.js'), 'stdio'], env: {} });
  const times = new Map(sides.map((s) => [s.name, { init: [] as number[], list: [] as number[] }]));
  // One start of each first, not counted: the file system's cache is warm for every side after it.
  for (const side of sides) await once(side);
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(r + i) % sides.length] as Side;
      const { initMs, listMs } = await once(side);
      times.get(side.name)?.init.push(initMs);
      times.get(side.name)?.list.push(listMs);
    }
  const initOf = (name: string) => median(times.get(name)?.init ?? []);
  const figures: Record<string, unknown> = { rounds };
  for (const side of sides)
    figures[side.name] = {
      initMs: round(initOf(side.name), 1),
      listMs: round(median(times.get(side.name)?.list ?? []), 1),
    };
  figures.initRatio = round(initOf('troupe') / initOf('bare'));
  figures.keyedInitRatio = round(initOf('keyed') / initOf('bare'));
  if (before) figures.vsBeforeInitRatio = round(initOf('troupe') / initOf('before'));
  print(argv, figures);
}
