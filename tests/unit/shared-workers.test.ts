import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { unitFiles } from '../support/shared-workers.js';
import { tempDir } from '../support/temp-dir.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('which unit files share a worker (vitest.config.ts)', () => {
  const root = tempDir('troupe-shared-workers-');
  const write = (path: string, source: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), source);
  };

  it('keeps a file in its own process when it, or a helper it imports from tests/, outlives itself', () => {
    write('tests/unit/plain.test.ts', "import { it } from 'vitest';\nit('x', () => {});\n");
    write('tests/unit/mocks.test.ts', "vi.mock('node:fs');\n");
    write('tests/unit/hoisted.test.ts', 'const h = vi.hoisted(() => 1);\n');
    write('tests/unit/spies.test.ts', "vi.spyOn(console, 'error');\n");
    write('tests/unit/timers.test.ts', 'vi.useFakeTimers();\n');
    write('tests/unit/env.test.ts', "process.env.TROUPE_X = '1';\n");
    write('tests/unit/env-index.test.ts', "process.env['TROUPE_X'] = '1';\n");
    write('tests/unit/env-delete.test.ts', 'delete process.env.TROUPE_X;\n');
    write('tests/unit/env-read.test.ts', "const x = process.env.TROUPE_X === '1';\n");
    write('tests/unit/listener.test.ts', "process.on('warning', () => {});\n");
    write('tests/unit/chdir.test.ts', "process.chdir('/');\n");
    write('tests/unit/deep/helper-user.test.ts', "import { spy } from '../../support/spy-helper.js';\n");
    write('tests/support/spy-helper.ts', "import { twice } from './inner.js';\nexport const spy = twice;\n");
    write('tests/support/inner.ts', "export const twice = () => vi.spyOn(Math, 'random');\n");
    write('tests/unit/dynamic.test.ts', "await import('./mocking-helper.js');\n");
    write('tests/unit/mocking-helper.ts', "vi.doMock('node:os');\n");
    write('tests/unit/plain-helper.test.ts', "import { x } from '../support/plain.js';\n");
    write('tests/support/plain.ts', "import { x } from './plain.js';\nexport const x = 1;\n");
    write('tests/unit/not-a-test.ts', "vi.mock('node:fs');\n");
    expect(unitFiles(root, 'tests/unit')).toEqual({
      shared: ['tests/unit/env-read.test.ts', 'tests/unit/plain-helper.test.ts', 'tests/unit/plain.test.ts'],
      own: [
        'tests/unit/chdir.test.ts',
        'tests/unit/deep/helper-user.test.ts',
        'tests/unit/dynamic.test.ts',
        'tests/unit/env-delete.test.ts',
        'tests/unit/env-index.test.ts',
        'tests/unit/env.test.ts',
        'tests/unit/hoisted.test.ts',
        'tests/unit/listener.test.ts',
        'tests/unit/mocks.test.ts',
        'tests/unit/spies.test.ts',
        'tests/unit/timers.test.ts',
      ],
    });
  });

  it('keeps in their own process the files that failed when every unit file shared one (2026-12-06)', () => {
    // `vitest run tests/unit --no-isolate`: these six failed, their module mocks seen by later files.
    const { own, shared } = unitFiles(repo, 'tests/unit');
    for (const file of [
      'cli/bootstrap-budget-callers',
      'mcp/files-growing',
      'mcp/files-open-bound',
      'mcp/files-swapped',
      'mcp/files-swapped-check',
      'security/token-compare',
    ]) {
      expect(own).toContain(`tests/unit/${file}.test.ts`);
    }
    // This file holds the patterns as text, so it runs in a process of its own; fifo's test shares.
    expect(own).toContain('tests/unit/shared-workers.test.ts');
    expect(shared).toContain('tests/unit/core/fifo.test.ts');
    expect(shared.length + own.length).toBeGreaterThan(200);
  });

  it('shares the integration files that leave nothing behind too, and only those (2026-12-06)', async () => {
    const { default: config } = await import('../../vitest.config.js');
    const projects = (config.test?.projects ?? []) as {
      test: { name: string; include?: string[]; exclude?: string[] };
    }[];
    const sharedProject = projects.find((p) => p.test.name === 'shared')?.test;
    const ownProject = projects.find((p) => p.test.name === 'own')?.test;
    const integration = unitFiles(repo, 'tests/integration');
    expect(integration.shared.length).toBeGreaterThan(80);
    expect(sharedProject?.include).toEqual(expect.arrayContaining(integration.shared));
    expect(ownProject?.exclude).toEqual(expect.arrayContaining(integration.shared));
    // A spy, an environment stub, a process listener: each of these keeps its own process.
    for (const file of ['mcp/http-tools', 'providers/secrets', 'testing/file-watchdog']) {
      expect(integration.own).toContain(`tests/integration/${file}.test.ts`);
      expect(sharedProject?.include).not.toContain(`tests/integration/${file}.test.ts`);
      expect(ownProject?.exclude).not.toContain(`tests/integration/${file}.test.ts`);
    }
    // Servers, Redis and the built CLI's processes: e2e and scale files keep their own.
    expect(sharedProject?.include?.filter((f) => !/^tests\/(unit|integration)\//.test(f))).toEqual([]);
  });
});
