/**
 * The layer rules in `layers.json`, checked against every import of every file in `src/` and
 * `machines/`: each file must belong to a layer, and each relative import must land in its own
 * layer or one it may use. A new folder without rules, or an arrow pointing outward, fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

interface Layer {
  readonly path: string;
  readonly may: readonly string[];
  readonly nodeBuiltins?: boolean;
}

const root = resolve(import.meta.dirname, '../..');
const rules = JSON.parse(readFileSync(join(root, 'layers.json'), 'utf8')) as { layers: Layer[] };

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(root, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) sources(path, out);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const within = (file: string, path: string) => file === path || file.startsWith(`${path}/`);

/** The layer a file belongs to: the longest matching path. */
function layerOf(file: string, layers: readonly Layer[] = rules.layers): Layer | undefined {
  let best: Layer | undefined;
  for (const layer of layers)
    if (within(file, layer.path) && (best === undefined || layer.path.length > best.path.length))
      best = layer;
  return best;
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) out.push(m[1] as string);
  return out;
}

/** The violations of one file's imports, as readable lines. */
function violations(file: string, text: string, layers: readonly Layer[] = rules.layers): string[] {
  const own = layerOf(file, layers);
  if (own === undefined) return [`${file}: belongs to no layer in layers.json`];
  const out: string[] = [];
  for (const spec of specifiers(text)) {
    if (spec.startsWith('node:')) {
      if (own.nodeBuiltins === false)
        out.push(`${file}: imports ${spec}, but ${own.path} may not use node:*`);
      continue;
    }
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts');
    const theirs = layerOf(target, layers);
    if (theirs === own) continue;
    if (!own.may.some((allowed) => within(target, allowed.replace(/\.js$/, '.ts')))) {
      out.push(`${file}: imports ${target}, which ${own.path} may not use (layers.json)`);
    }
  }
  return out;
}

describe('layer rules (layers.json)', () => {
  const files = [...sources('src'), ...sources('machines')];

  it('finds the source files', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('every import of src/ and machines/ follows the rules', () => {
    const found = files.flatMap((file) => violations(file, readFileSync(join(root, file), 'utf8')));
    expect(found).toEqual([]);
  });

  it('catches an outward arrow, a file in no layer, and node:* in the core', () => {
    expect(violations('src/providers/x.ts', "import type { Runtime } from '../runtime/types.js';")).toEqual([
      'src/providers/x.ts: imports src/runtime/types.ts, which src/providers may not use (layers.json)',
    ]);
    expect(violations('src/scale/x.ts', "export { a } from '../runtime/options.js';")).toHaveLength(1);
    expect(violations('src/scale/x.ts', "const m = await import('../runtime/ports.js');")).toEqual([]);
    expect(violations('src/elsewhere/x.ts', '')).toEqual([
      'src/elsewhere/x.ts: belongs to no layer in layers.json',
    ]);
    expect(violations('src/core/x.ts', "import { readFile } from 'node:fs';")).toHaveLength(1);
    expect(violations('src/runtime/x.ts', "import {\n  a,\n  b,\n} from '../mcp/server.js';")).toHaveLength(
      1,
    );
  });
});
