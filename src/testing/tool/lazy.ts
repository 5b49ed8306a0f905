/**
 * `checkToolContract`, loading fast-check (an optional peer) and the MCP harness on first use, so
 * `import 'troupe/testing'` stays light and works in a project without fast-check.
 */
import { loadFastCheck } from '../fast-check.js';
import type { ToolContractOptions, ToolContractReport } from './types.js';

/** See `check.ts`: your `withSession` tool's contract, over a real MCP client. */
export async function checkToolContract(options: ToolContractOptions): Promise<ToolContractReport> {
  await loadFastCheck(); // says what to install when fast-check is missing
  return (await import('./check.js')).checkToolContract(options);
}
