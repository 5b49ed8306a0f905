/**
 * Guards the architecture rule: nothing in src/mcp reaches a provider adapter; every model call
 * goes through a runtime session. Only the port's types, the registry and the config loader may
 * be imported from src/providers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MCP = join(ROOT, 'src/mcp');
const ALLOWED = new Set(['src/providers/port.ts', 'src/providers/registry.ts', 'src/providers/config.ts']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier in static imports, re-exports and dynamic `import()`. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[1]!);
  return found;
}

function providerImports(file: string): string[] {
  return specifiers(readFileSync(file, 'utf8'))
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(ROOT, resolve(dirname(file), s)).replace(/\.js$/, '.ts'))
    .filter((p) => p.startsWith('src/providers/'));
}

describe('src/mcp imports no provider adapter', () => {
  it('finds the MCP sources', () => {
    expect(files(MCP).length).toBeGreaterThan(10);
  });

  it('imports only the port, the registry and the config from src/providers', () => {
    const offending = files(MCP).flatMap((f) =>
      providerImports(f)
        .filter((p) => !ALLOWED.has(p))
        .map((p) => `${relative(ROOT, f)} -> ${p}`),
    );
    expect(offending).toEqual([]);
  });

  it('the scan catches an adapter import (self-check)', () => {
    const fake =
      "import { createSimulatedProvider } from '../providers/simulated.js';\nconst x = await import('../providers/kimi.js');";
    expect(specifiers(fake)).toEqual(['../providers/simulated.js', '../providers/kimi.js']);
  });
});
