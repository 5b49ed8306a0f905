/**
 * `troupe chart` as a user runs it (the BUILT CLI): Mermaid, JSON and SVG straight from the machines.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sessionMachine } from '../../machines/session.js';
import { supervisorMachine } from '../../machines/supervisor.js';
import { chartJson, chartMermaid } from '../../src/observe/chart.js';

const CLI = 'dist/src/cli/main.js';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
}

describe('troupe chart (built CLI)', () => {
  it('prints Mermaid by default and XState JSON with --format json', async () => {
    expect((await run(['chart', 'session'])).stdout).toBe(chartMermaid(sessionMachine));
    const json = await run(['chart', 'supervisor', '--format', 'json']);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe(chartJson(supervisorMachine));
    expect(JSON.parse(json.stdout).states.stopped.type).toBe('final');
  });

  it('prints the ELK-laid-out chart as a standalone SVG with --format svg', async () => {
    const svg = await run(['chart', 'session', '--format', 'svg']);
    expect(svg.code).toBe(0);
    expect(
      svg.stdout.startsWith('<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-machine="session"'),
    ).toBe(true);
    expect(svg.stdout).toContain('<style>');
    expect(svg.stdout).toContain('data-state="session.running.attempt.streaming"');
    expect(svg.stdout).not.toContain('data-count');
  });

  it('rejects an unknown machine or format with exit code 2', async () => {
    const bad = await run(['chart', 'scheduler']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'Expected one machine name, session or supervisor or breaker or provider, got "scheduler"',
    );
    const dot = await run(['chart', 'session', '--format', 'dot']);
    expect(dot.code).toBe(2);
    expect(dot.stderr).toContain('Expected `--format` to be mermaid, json or svg, got "dot"');
  });

  it('refuses --docs onto a file with exit code 2 and one line, and names a path it cannot write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'troupe-chart-'));
    try {
      const file = join(dir, 'not-a-dir');
      await writeFile(file, 'kept');
      const onFile = await run(['chart', '--docs', file]);
      expect(onFile.code).toBe(2);
      expect(onFile.stderr).toBe(
        `troupe chart: Expected \`--docs\` to be a directory, got the file ${file}\n`,
      );
      expect(await readFile(file, 'utf8')).toBe('kept');
      // A directory under a file: mkdir fails part-way, and the line names the path and the code.
      const under = await run(['chart', '--docs', join(file, 'docs')]);
      expect(under.code).toBe(1);
      expect(under.stderr).toMatch(/^troupe chart: cannot write .*not-a-dir\/docs\/\S+: ENOTDIR\n$/);
      const ok = await run(['chart', '--docs', join(dir, 'out')]);
      expect(ok.code).toBe(0);
      expect(await readFile(join(dir, 'out', 'machines.md'), 'utf8')).toContain('session');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
