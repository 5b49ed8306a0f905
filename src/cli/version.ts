/**
 * troupe's own version, from its package.json: `troupe --version` prints it and the MCP server
 * reports it to clients (`serverInfo.version`), so neither can drift from what was installed.
 */
import { readFileSync } from 'node:fs';

/** Built, this file is `dist/src/cli/version.js`; run from source (tests), `src/cli/version.ts`. */
const CANDIDATES = ['../../../package.json', '../../package.json'];

let cached: string | undefined;

export function troupeVersion(): string {
  cached ??= readVersion();
  return cached;
}

function readVersion(): string {
  for (const candidate of CANDIDATES) {
    const url = new URL(candidate, import.meta.url);
    let text: string;
    try {
      text = readFileSync(url, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const parsed = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (parsed.name === 'troupe' && typeof parsed.version === 'string') return parsed.version;
  }
  throw new Error(
    `Expected troupe's package.json above ${new URL('.', import.meta.url).pathname}, found none`,
  );
}
