/**
 * Settings of the HTTP front only (`--max-mcp-sessions`, `--max-connections`, `--keep-alive-timeout-ms`,
 * `--idle-session-ms`): `troupe serve` and
 * `troupe config` take them, `troupe stdio` (no HTTP front) has no such flag, and its usage does
 * not list them.
 */
import { expect, it } from 'vitest';
import { resolveConfig, settingOptions, settingsUsage } from '../../../src/cli/config.js';

it('are flags of serve and config, not of stdio', () => {
  const serveOnly = ['max-mcp-sessions', 'max-connections', 'keep-alive-timeout-ms', 'idle-session-ms'];
  for (const flag of serveOnly) {
    expect(settingOptions('serve')).toHaveProperty(flag);
    expect(settingOptions('config')).toHaveProperty(flag);
    expect(settingOptions('stdio')).not.toHaveProperty(flag);
    expect(settingsUsage('serve')).toMatch(new RegExp(`--${flag} (N|MS)`));
    expect(settingsUsage('stdio')).not.toContain(`--${flag}`);
  }
  // Every other setting is the same for both.
  expect(Object.keys(settingOptions('stdio')).length).toBe(
    Object.keys(settingOptions('serve')).length - serveOnly.length,
  );
});

it('default to the HTTP front’s own defaults and refuse what cannot work', () => {
  const config = resolveConfig({});
  expect(config.values.maxMcpSessions).toBe(1000);
  expect(config.values.maxConnections).toBe(4096);
  expect(resolveConfig({ env: { TROUPE_MAX_MCP_SESSIONS: '3' } }).values.maxMcpSessions).toBe(3);
  expect(() => resolveConfig({ flags: { 'max-connections': '8' } })).toThrow(
    'Expected `--max-connections` to be at least 16 (a client holds several at once: its calls, a GET stream, a listen stream, the dashboard), got `8`',
  );
  expect(config.values.keepAliveTimeoutMs).toBe(5_000);
  expect(config.values.idleSessionMs).toBe(1_800_000);
  expect(resolveConfig({ env: { TROUPE_KEEP_ALIVE_TIMEOUT_MS: '65000' } }).values.keepAliveTimeoutMs).toBe(
    65_000,
  );
  expect(() => resolveConfig({ flags: { 'keep-alive-timeout-ms': '3600001' } })).toThrow(
    /^Expected `--keep-alive-timeout-ms` to be at most 3600000 \(milliseconds: an idle connection holds a place of --max-connections/,
  );
  expect(() => resolveConfig({ flags: { 'idle-session-ms': '999' } })).toThrow(
    'Expected `--idle-session-ms` to be at least 1000 (milliseconds: a client pauses between calls), got `999`',
  );
  expect(() => resolveConfig({ flags: { 'idle-session-ms': '86400001' } })).toThrow(/to be at most 86400000/);
});
