/**
 * The fuzz suite's server under test: the BUILT CLI (`troupe serve` or `troupe stdio`) as a user
 * runs it, in front of the local OpenAI-compatible test server whose API key is a canary. Every
 * byte the process writes (stdout, stderr) and every byte it answers is kept, so a test can look
 * for the canary anywhere; its RSS is read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { tempDir } from '../support/temp-dir.js';

export const CLI = 'dist/src/cli/main.js';

/** A key no output may contain, whole or as its distinctive middle. */
export const CANARY = `sk-canary-${randomBytes(12).toString('hex')}`;

/** The models fuzzed calls may name: answers, errors that quote the key, resets, retries. */
export const MODELS = [
  'fuzz-model',
  'fault:401:echo-auth=1',
  'fault:400:echo-auth=1',
  'fault:500:echo-auth=1',
  'fault:bad-json',
  'fault:bad-sse',
  'fault:reset',
  'fault:wrong-type',
  'fault:empty',
  'fault:oversized:bytes=300000',
  'fault:429:retry-after=0:first=1',
] as const;

export interface RunningServer {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  rssBytes(): number;
  alive(): boolean;
  stop(): Promise<void>;
}

export async function startProvider(): Promise<OpenAIServer> {
  const provider = createOpenAIServer({ apiKey: CANARY });
  await provider.start();
  return provider;
}

export function serverEnv(provider: OpenAIServer, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const root = tempDir('troupe-fuzz-');
  writeFileSync(join(root, 'notes.txt'), 'a file multi_file_chat may read\n');
  return {
    PATH: process.env.PATH ?? '',
    TROUPE_OPENAI_BASE_URL: provider.baseURL,
    TROUPE_OPENAI_API_KEY: CANARY,
    TROUPE_OPENAI_NAME: 'local',
    TROUPE_DEFAULT_PROVIDER: 'local',
    TROUPE_DEFAULT_MODEL: 'fuzz-model',
    TROUPE_ROOTS: root,
    TROUPE_LOG_LEVEL: 'debug',
    // Breakers are on in serve and stdio by default; tight here so the generated 500s and resets
    // open the provider's breaker, and fuzzed calls also meet the fail-fast path and its probe.
    TROUPE_BREAKER_FAILURES: '2',
    TROUPE_BREAKER_WINDOW_MS: '10000',
    TROUPE_BREAKER_OPEN_MS: '1000',
    ...extra,
  };
}

export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): RunningServer {
  if (!existsSync(CLI)) throw new Error(`build first (npm run build): ${CLI} is missing`);
  const child = spawn(process.execPath, ['--max-old-space-size=512', CLI, ...args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  return {
    child,
    output: () => out,
    rssBytes: () => rssOf(child.pid),
    alive: () => !exited,
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}

/** Starts `troupe serve --port 0` and resolves with its /mcp URL. */
export async function startServe(env: NodeJS.ProcessEnv): Promise<{ server: RunningServer; url: URL }> {
  const server = spawnCli(['serve', '--port', '0', '--drain-ms', '500'], env);
  const url = await new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${server.output()}`)), 15_000);
    const check = () => {
      const m = /serving MCP at (\S+?)[;\s]/.exec(server.output());
      if (m) {
        clearTimeout(timer);
        resolve(new URL(m[1]!));
      } else if (!server.alive()) {
        clearTimeout(timer);
        reject(new Error(`serve exited: ${server.output()}`));
      } else setTimeout(check, 20);
    };
    check();
  });
  return { server, url };
}

export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The canary, or a 12-character run of its random part, anywhere in `text`. */
export function leaksCanary(text: string): boolean {
  if (text.includes(CANARY)) return true;
  const secret = CANARY.slice('sk-canary-'.length);
  for (let i = 0; i + 12 <= secret.length; i += 6) if (text.includes(secret.slice(i, i + 12))) return true;
  return false;
}
