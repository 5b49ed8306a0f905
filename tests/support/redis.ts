/**
 * A private `redis-server` for tests: a free loopback port, no persistence unless asked
 * (`appendOnly`: an AOF written on every command, in a temporary directory), stopped afterwards.
 * If it cannot start, the caller's test fails loudly: scale-out is never skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /**
   * Stops and restarts it on the same port, `downMs` later (0 by default); data is lost, unless
   * started with `appendOnly`.
   */
  restart(downMs?: number): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered until `resume`. */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT), with its data and connections. */
  resume(): void;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  return port;
}

export interface StartRedis {
  /** Keeps its data across `restart` (AOF, `appendfsync always`), as a Redis with persistence. */
  readonly appendOnly?: boolean;
}

async function launch(port: number, dir: string | undefined): Promise<ChildProcess> {
  const persistence =
    dir === undefined
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start on port ${port}:\n${output}`)),
      10_000,
    );
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`Expected redis-server on PATH (apt-get install redis-server), got ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
    const poll = setInterval(() => {
      if (output.includes('Ready to accept connections')) {
        clearInterval(poll);
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve();
      }
    }, 20);
  });
  return child;
}

export async function startRedis(options: StartRedis = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = options.appendOnly ? await mkdtemp(join(tmpdir(), 'troupe-redis-')) : undefined;
  let child = await launch(port, dir);
  const kill = async () => {
    // A killed process has a `signalCode` and no `exitCode`.
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await kill();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
    restart: async (downMs = 0) => {
      await kill();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await launch(port, dir);
    },
    freeze: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}
