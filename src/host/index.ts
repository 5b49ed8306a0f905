/**
 * `troupe/host`: an MCP client's tool calls to remote servers, run as troupe sessions (one lane per
 * server): per-server limits, priorities, deadlines that cancel the remote call, retries only for
 * tools marked safe, and session metadata on every result.
 */

export type {
  HostCallOptions,
  HostCallResult,
  HostClient,
  HostClientOptions,
  ToolCaller,
} from './client.js';
export { wrapClient } from './client.js';
export type { Host, HostOptions, HostServer } from './host.js';
export { createHost } from './host.js';
