/**
 * `ws` and `safe-stable-stringify` are `@statelyai/inspect`'s dependencies, not troupe's: in a
 * strict layout (pnpm) they sit beside it, not beside troupe, and a plain `import('ws')` from
 * troupe's files finds nothing. Built here: a folder where troupe's file (the built
 * `inspect-deps.js`) sees `@statelyai/inspect` and no `ws`, the package linked to where it is
 * installed, its own dependencies beside it.
 */
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** `project/node_modules/@statelyai/inspect` (a link to the installed package) and troupe's file in `project/troupe/`. */
async function strictLayout(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'troupe-inspect-deps-'));
  dirs.push(root);
  // Its `dist/index.mjs`, two folders below the package's own (its exports name no `package.json`).
  const installed = dirname(dirname(createRequire(import.meta.url).resolve('@statelyai/inspect')));
  await mkdir(join(root, 'node_modules', '@statelyai'), { recursive: true });
  await symlink(installed, join(root, 'node_modules', '@statelyai', 'inspect'), 'dir');
  await mkdir(join(root, 'troupe'));
  for (const name of ['inspect-deps.js', 'inspect-deps.js.map'])
    await cp(join(process.cwd(), 'dist/src/observe', name), join(root, 'troupe', name));
  await writeFile(join(root, 'troupe', 'package.json'), '{ "type": "module" }');
  return join(root, 'troupe', 'inspect-deps.js');
}

describe('the packages @statelyai/inspect brings', () => {
  it('load from where @statelyai/inspect is installed, where troupe’s own folder has none of them', async () => {
    const file = await strictLayout();
    // The layout is strict: beside troupe's file, no `ws`.
    expect(() => createRequire(file).resolve('ws')).toThrow(/Cannot find module 'ws'/);
    const { broughtByInspect } = (await import(
      pathToFileURL(file).href
    )) as typeof import('../../src/observe/inspect-deps.js');
    const ws = broughtByInspect<typeof import('ws')>('ws');
    expect(typeof ws.WebSocket).toBe('function');
    expect(typeof ws.WebSocketServer).toBe('function');
    const stable = broughtByInspect<typeof import('safe-stable-stringify')>('safe-stable-stringify');
    expect(stable.configure({ maximumDepth: 1 })({ b: 1, a: { c: 2 } })).toBe('{"a":"[Object]","b":1}');
  });
});
