/**
 * The package as a user gets it: `npm pack`, its file list held to the manifest (every `exports`
 * and `bin` target in it, no compiled file whose source is gone, nothing of the repository's own,
 * a size bound), installed into an empty folder with only its declared
 * dependencies and none of its optional peers, every `exports` path imported there (the two that
 * exist for a peer fail only for want of it), then fast-check added and the property harness run,
 * a consumer file type-checked against the shipped `.d.ts`, and the host example run against the
 * installed copy. Nothing here reads `src/`. Needs the build (`npm run build`).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);
const repo = resolve('.');
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
// Where no node_modules above lends the consumer a package it did not install (Node looks in every
// directory above; a /tmp/node_modules with fast-check in it would pass for one): removed after the file.
const work = tempDir('troupe-pack-', { noNodeModulesAbove: true });
const app = join(work, 'app');

const npm = (args: string[], cwd: string) =>
  exec('npm', args, { cwd, timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' } });

/** What `npm pack --json` says of the tarball. */
interface Packed {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly { readonly path: string }[];
}
let packed: Packed | undefined;

beforeAll(async () => {
  expect(existsSync('dist/src/mcp/index.js'), 'build first: dist/src/mcp/index.js is missing').toBe(true);
  const { stdout } = await npm(['pack', '--json', '--pack-destination', work], repo);
  [packed] = JSON.parse(stdout) as Packed[];
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await npm(
    [
      'install',
      join(work, packed?.filename ?? 'missing.tgz'),
      '--omit=dev',
      '--omit=peer',
      '--legacy-peer-deps',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
    ],
    app,
  );
}, 120_000);

it('ships every file its manifest points at, no stale build output, and nothing of the repository’s own', () => {
  const files = new Set((packed?.files ?? []).map((f) => f.path));
  // Each `exports` condition (`types` too: a missing .d.ts only shows in a user's editor) and `bin`.
  const targets = [
    ...Object.values(manifest.exports as Record<string, string | Record<string, string>>).flatMap((entry) =>
      typeof entry === 'string' ? [entry] : Object.values(entry),
    ),
    ...Object.values(manifest.bin as Record<string, string>),
  ].map((target) => target.replace(/^\.\//, ''));
  expect(targets.filter((target) => !files.has(target))).toEqual([]);
  const bin = readFileSync(join(app, 'node_modules', 'troupe', manifest.bin.troupe), 'utf8');
  expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
  // Sources, tests, benchmarks, reports, scripts, build state: none of it is the package.
  const own =
    /^(src|tests|bench|reports|scripts|examples|machines|node_modules|dist\/bench|dist\/tests)\/|\.tsbuildinfo$|(^|\/)\.(built|env)/;
  expect([...files].filter((path) => own.test(path))).toEqual([]);
  // A compiled file whose source is gone (renamed or deleted since the last clean build): npm packs
  // whatever `dist/` holds. `rm -rf dist && npm run build` clears them.
  const stale = [...files].filter((path) => {
    const source = /^dist\/((?:src|machines)\/.+)\.(?:js|d\.ts|js\.map)$/.exec(path)?.[1];
    return source !== undefined && !existsSync(`${source}.ts`);
  });
  expect(stale).toEqual([]);
  // Bounds well above today's (2.7 MB packed, 8.8 MB unpacked, 1147 files on 2026-12-07, source
  // maps with their sources half of it): a folder packed by mistake passes neither.
  const measured = { size: packed?.size, unpackedSize: packed?.unpackedSize, entryCount: packed?.entryCount };
  expect(measured.size, JSON.stringify(measured)).toBeLessThan(4_000_000);
  expect(measured.unpackedSize, JSON.stringify(measured)).toBeLessThan(13_000_000);
  expect(measured.entryCount, JSON.stringify(measured)).toBeLessThan(1_700);
});

/** Entry points that exist for an optional peer, and the peer each needs. */
const FOR_A_PEER: Readonly<Record<string, string>> = {
  './testing/properties': 'fast-check',
  './testing/vitest': 'vitest',
};

const importAll = async (paths: readonly string[]) => {
  const script = `const out = {}; for (const p of ${JSON.stringify(paths)}) { const spec = p === '.' ? 'troupe' : 'troupe/' + p.slice(2); try { out[p] = Object.keys(await import(spec)).sort(); } catch (e) { out[p] = 'failed: ' + e.code + ' ' + e.message; } } console.log(JSON.stringify(out));`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
  return JSON.parse(stdout) as Record<string, string[] | string>;
};

it('installs with only what it declares, no optional peers, ships no sources, and every exports path imports', async () => {
  const installed = join(app, 'node_modules', 'troupe');
  expect(existsSync(join(installed, 'src'))).toBe(false);
  expect(existsSync(join(app, 'node_modules', 'vitest'))).toBe(false);
  expect(existsSync(join(app, 'node_modules', 'fast-check'))).toBe(false);
  const paths = Object.keys(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).exports).filter(
    (path) => path !== './package.json',
  );
  expect(paths).toEqual(
    expect.arrayContaining([
      '.',
      './host',
      './mcp',
      './scale',
      './testing',
      './testing/properties',
      './testing/vitest',
    ]),
  );
  const names = await importAll(paths);
  for (const path of paths) {
    const peer = FOR_A_PEER[path];
    if (peer === undefined) expect(names[path], path).toEqual(expect.any(Array));
    // Without its peer, such an entry fails for that reason and no other.
    else expect(names[path], path).toMatch(new RegExp(`^failed: ERR_MODULE_NOT_FOUND .*'${peer}'`));
  }
  expect(names['.']).toEqual(expect.arrayContaining(['createRuntime', 'createOpenAICompatibleProvider']));
  expect(names['./mcp']).toEqual(
    expect.arrayContaining(['registerTools', 'withSession', 'createMcpContext']),
  );
  expect(names['./host']).toEqual(expect.arrayContaining(['createHost', 'wrapClient']));
  expect(names['./scale']).toEqual([
    'MemoryClusterHub',
    'RedisConversationStore',
    'RedisCostLedger',
    'RedisEventStore',
    'RedisTaskStore',
    'memoryClusterBackend',
    'redisBackend',
  ]);
  // From CommonJS too (Node >= 20.19 loads ES modules with require): with only an `import`
  // condition, until 2026-12-04, require('troupe') failed as "No exports main defined".
  const required = await exec(
    process.execPath,
    [
      '-e',
      "const t = require('troupe'), h = require('troupe/host'); console.log(typeof t.createRuntime, typeof h.createHost)",
    ],
    { cwd: app },
  );
  expect(required.stdout.trim()).toBe('function function');
  expect(names['./testing']).toEqual(
    expect.arrayContaining(['checkRuntimeProperties', 'checkProviderContract', 'createOpenAIServer']),
  );
  // A command for an optional peer, without it: one line with the fix (until 2026-12-07 require's
  // "Require stack:" of troupe's own paths came between the error and the advice).
  const cli = join(app, 'node_modules', 'troupe', manifest.bin.troupe);
  const refused = await exec(process.execPath, [cli, 'inspector'], { cwd: app }).then(
    () => ({ stderr: 'exited 0' }),
    (error: { stderr: string }) => error,
  );
  expect(refused.stderr).toMatch(
    /^troupe inspector: Expected the optional package @statelyai\/inspect .* got Cannot find module '@statelyai\/inspect': run `npm install @statelyai\/inspect`\n$/,
  );
  // The property functions say what to install.
  const script = `import { checkProviderContract, createSimulatedProvider } from 'troupe/testing'; await checkProviderContract(createSimulatedProvider()).catch((e) => console.log(e.code, e.message));`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
  expect(stdout).toMatch(
    /^INVALID_REQUEST Expected the optional peer dependency `fast-check` to be installed/,
  );
});

it('with fast-check added, the property harness runs from the installed copy', async () => {
  await npm(
    [
      'install',
      `fast-check@${manifest.peerDependencies['fast-check']}`,
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
    ],
    app,
  );
  const names = await importAll(['./testing/properties']);
  expect(names['./testing/properties']).toEqual(expect.arrayContaining(['runtimeProperty', 'commands']));
  const script = `import { checkProviderContract, createSimulatedProvider } from 'troupe/testing'; const r = await checkProviderContract(createSimulatedProvider({ latencyMs: { min: 1, max: 5 } }), { model: 'sim-fast', numRuns: 3 }); console.log(JSON.stringify(r.checked.map((c) => c.property)));`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], {
    cwd: app,
    timeout: 60_000,
  });
  expect(JSON.parse(stdout)).toEqual(['signalHonoured', 'streamContract', 'resultShape', 'requestUntouched']);
}, 120_000);

it('type-checks a consumer against the shipped .d.ts', async () => {
  writeFileSync(
    join(app, 'consumer.ts'),
    `import { McpServer } from '@modelcontextprotocol/server';
import { Client } from '@modelcontextprotocol/client';
import * as z from 'zod';
import {
  type BreakerView,
  createModelRegistry,
  createRuntime,
  createSimulatedProvider,
  type ProviderBudget,
  type ProviderEntry,
  type RegistryOptions,
  type SessionMetadata,
} from 'troupe';
import { RedisConversationStore, RedisEventStore } from 'troupe/scale';
import { registerTools, withSession, type WithSessionOptions } from 'troupe/mcp';
import { createHost, type HostCallResult } from 'troupe/host';
import { checkProviderContract, checkRuntimeProperties, createOpenAIServer, type ContractReport } from 'troupe/testing';
import { commands, runtimeProperty } from 'troupe/testing/properties';

const runtime = createRuntime({ providers: [createSimulatedProvider()], limits: { perProvider: { work: 2 } } });
const server = new McpServer({ name: 'consumer', version: '1' });
const options: WithSessionOptions<{ n: number }> = { lane: 'work', timeoutMs: ({ n }) => n * 1000 };
server.registerTool(
  'work',
  { inputSchema: z.object({ n: z.number() }) },
  withSession(runtime, async ({ n }, session) => {
    const signal: AbortSignal = session.signal;
    session.progress(1, 2, String(signal.aborted));
    return { content: [{ type: 'text', text: String(n) }] };
  }, options),
);
// @ts-expect-error priority is a number or a function of the arguments
withSession(runtime, async () => ({ content: [] }), { priority: 'high' });
const tools = registerTools(server, runtime, { tools: ['chat'], prefix: 'x_' });
const names: readonly string[] = tools.names;
// @ts-expect-error only troupe's tool names
registerTools(server, runtime, { tools: ['nope'] });

const host = createHost({ servers: { remote: { client: new Client({ name: 'c', version: '1' }), maxConcurrent: 2 } } });
const result: HostCallResult = await host.callTool('remote', { name: 't', arguments: {} }, { priority: 3 });
const metadata: SessionMetadata = result.metadata;
if (result.ok) console.log(result.value.content.length, metadata.sessionId, names);

// Named option and status types (until 2026-12-04 only reachable through Parameters<...>).
const entry: ProviderEntry = { name: 'sim', configured: true, models: [] };
const registryOptions: RegistryOptions = { defaultProvider: 'sim' };
createModelRegistry([entry], registryOptions);
const status = runtime.status();
const breakers: readonly BreakerView[] = status.breakers ?? [];
const budgets: readonly ProviderBudget[] = Object.values(status.limits ?? {});
const stores: readonly unknown[] = [RedisConversationStore.connect, RedisEventStore.connect, breakers, budgets];
console.log(stores.length);

// @ts-expect-error names are strings, not numbers
const wrong: number = tools.names[0];
const fake = createOpenAIServer();
await checkRuntimeProperties({ numRuns: 1, seed: 1 });
const report: ContractReport = await checkProviderContract(createSimulatedProvider(), { server: fake, capabilities: { tools: true } });
console.log(report.failures.map((f) => f.property));
// @ts-expect-error capabilities are named
await checkProviderContract(createSimulatedProvider(), { capabilities: { telepathy: true } });
await fake.close();
// The entry for fast-check's objects (installed by the test above), typed as well.
console.log(typeof runtimeProperty, String(new commands.Submit(0, 5, 1000, 1000)));
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        // A full lib check, as a user with `skipLibCheck: false` runs it: troupe's public types
        // must not reach ext-tasks' own .d.ts, which do not pass one. troupe's types are proven
        // real by the `@ts-expect-error` lines (an `any` would leave them unused, which fails).
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(repo, 'node_modules', '@types')],
      },
      files: ['consumer.ts'],
    }),
  );
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const checked = await exec(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app }).then(
    () => ({ ok: true, output: '' }),
    (error: { stdout?: string }) => ({ ok: false, output: error.stdout ?? String(error) }),
  );
  expect(checked.output).toBe('');
  expect(checked.ok).toBe(true);
  // tsc over the shipped .d.ts and the SDK's takes 14 s on an idle 2-core machine; a full `npm test`
  // at load 6 to 9 once took more than 60 s.
}, 180_000);

it('runs the host example against the installed copy', async () => {
  for (const file of ['host-fanout.mjs', 'own-server.mjs'])
    copyFileSync(join('examples', file), join(app, file));
  const { stdout } = await exec(process.execPath, ['host-fanout.mjs'], { cwd: app, timeout: 30_000 });
  expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({
    calls: 60,
    ok: 60,
    late: { code: 'TIMED_OUT' },
  });
}, 40_000);

it('runs as the README has MCP hosts start it: `npx --no troupe stdio` in the installing project', async () => {
  // The client is the consumer's own SDK, as a host's would be; npx resolves the installed troupe.
  const { Client } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
  const client = new Client({ name: 'host', version: '1' });
  await client.connect(
    new StdioClientTransport({
      command: 'npx',
      args: ['--no', 'troupe', 'stdio'],
      cwd: app,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        npm_config_update_notifier: 'false',
      },
      stderr: 'ignore',
    }),
  );
  try {
    expect(client.getServerVersion()).toEqual({ name: 'troupe', version: manifest.version });
    const result = (await client.callTool({ name: 'chat', arguments: { prompt: 'hello' } })) as {
      structuredContent?: { ok: boolean };
    };
    expect(result.structuredContent?.ok).toBe(true);
  } finally {
    await client.close();
  }
}, 120_000);
