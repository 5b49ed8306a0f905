/**
 * What `troupe stdio` loads before it answers `initialize`: its static imports, followed through
 * troupe's own files. A host starts it at every launch, so the HTTP front, the dashboard and the
 * metrics (`prom-client`, which loads `@opentelemetry/api`) stay out of it: until 2026-12-06 it took
 * one helper from `serve.ts` and loaded all of them. The vendors' adapters load only for a provider
 * whose key is set (`loadProviders` imports them then), and the `openai` SDK and undici only at a
 * provider's first call (or `preloadSdk`, once the server answers), so a start loads neither
 * (`npm run bench -- startup`, docs/performance.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');

/** The specifiers a TypeScript file imports for their values (type-only imports are erased). */
function valueImports(text: string): string[] {
  const out: string[] = [];
  const statement = /^\s*(import|export)\s+([^'"`;]*?)\s*from\s*['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(statement)) {
    const clause = (m[2] as string).trim();
    if (/^type\b/.test(clause)) continue;
    const named = /^\{([^}]*)\}$/.exec(clause);
    // `import { type A, type B } from`: every name a type, so nothing is loaded.
    if (named && (named[1] as string).split(',').every((name) => /^\s*(type\s|$)/.test(name))) continue;
    out.push(m[3] as string);
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1] as string);
  return out;
}

/** Every file of troupe's and every package a module loads statically, from `entry` on. */
function loadedBy(entry: string): { files: Set<string>; packages: Set<string>; specifiers: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const specifiers = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of valueImports(readFileSync(join(root, file), 'utf8'))) {
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.')) {
        specifiers.add(spec);
        packages.add(
          spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string),
        );
        continue;
      }
      const target = relative(root, resolve(dirname(join(root, file)), spec.replace(/\.js$/, '.ts')));
      expect(existsSync(join(root, target)), `${file} imports ${spec}`).toBe(true);
      visit(target);
    }
  };
  visit(entry);
  return { files, packages, specifiers };
}

const HTTP_SIDE = ['src/cli/serve.ts', 'src/mcp/http.ts', 'src/observe/routes.ts', 'src/observe/metrics.ts'];
const HTTP_PACKAGES = ['@modelcontextprotocol/node', 'prom-client'];
const ADAPTER_PACKAGES = ['openai', 'undici'];

describe('what `troupe stdio` loads', () => {
  it('leaves out the HTTP front, the dashboard, the metrics and, with no key set, the vendors’ HTTP client', () => {
    const { files, packages } = loadedBy('src/cli/stdio.ts');
    expect(HTTP_SIDE.filter((file) => files.has(file))).toEqual([]);
    expect(HTTP_PACKAGES.filter((name) => packages.has(name))).toEqual([]);
    expect(ADAPTER_PACKAGES.filter((name) => packages.has(name))).toEqual([]);
    // What it serves with is there.
    expect(files.has('src/mcp/server.ts')).toBe(true);
    expect(packages.has('@modelcontextprotocol/server')).toBe(true);
  });

  it('is read by a walk that does find them from `troupe serve`', () => {
    const { files, packages } = loadedBy('src/cli/serve.ts');
    expect(HTTP_SIDE.filter((file) => !files.has(file))).toEqual([]);
    expect(HTTP_PACKAGES.filter((name) => !packages.has(name))).toEqual([]);
  });

  // Until 2026-12-07 a key loaded the whole SDK and undici at start; they load at the first call now.
  it('finds from each vendor adapter only the SDK’s error and upload modules: the SDK and undici load at the first call', () => {
    const small = ['openai/core/error', 'openai/core/uploads'];
    for (const adapter of ['src/providers/kimi.ts', 'src/providers/glm.ts']) {
      const { specifiers } = loadedBy(adapter);
      const sdk = [...specifiers].filter((s) => /^(openai|undici)(\/|$)/.test(s));
      expect(
        sdk.filter((s) => !small.includes(s)),
        adapter,
      ).toEqual([]);
      expect(sdk, adapter).toContain('openai/core/error');
    }
    // What the first call imports: the SDK (`sdk-clients.ts`), undici and the code on it (`transport.ts`).
    const read = (file: string) => readFileSync(join(root, file), 'utf8');
    expect(read('src/providers/sdk-clients.ts')).toContain("import('openai')");
    expect(read('src/providers/transport.ts')).toContain("import('./undici-fetch.js')");
    expect(loadedBy('src/providers/undici-fetch.ts').packages.has('undici')).toBe(true);
  });

  it('counts an import of values and skips one of types only', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { type B, type C } from './b.js';",
      "import { type D, e } from './d.js';",
      "import * as f from 'f';",
      "export { g } from './g.js';",
      "import './side.js';",
    ].join('\n');
    expect(valueImports(text)).toEqual(['./d.js', 'f', './g.js', './side.js']);
  });
});
