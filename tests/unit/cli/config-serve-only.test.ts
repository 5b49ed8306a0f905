/**
 * Settings of the HTTP front only (`--max-mcp-sessions`, `--max-connections`): `troupe serve` and
 * `troupe config` take them, `troupe stdio` (no HTTP front) has no such flag, and its usage does
 * not list them.
 */
import { expect, it } from 'vitest';
import { resolveConfig, settingOptions, settingsUsage } from '../../../src/cli/config.js';

it('are flags of serve and config, not of stdio', () => {
  for (const flag of ['max-mcp-sessions', 'max-connections']) {
    expect(settingOptions('serve')).toHaveProperty(flag);
    expect(settingOptions('config')).toHaveProperty(flag);
    expect(settingOptions('stdio')).not.toHaveProperty(flag);
    expect(settingsUsage('serve')).toContain(`--${flag} N`);
    expect(settingsUsage('stdio')).not.toContain(`--${flag}`);
  }
  // Every other setting is the same for both.
  expect(Object.keys(settingOptions('stdio')).length).toBe(Object.keys(settingOptions('serve')).length - 2);
});

it('default to the HTTP front’s own defaults and refuse what cannot work', () => {
  const config = resolveConfig({});
  expect(config.values.maxMcpSessions).toBe(1000);
  expect(config.values.maxConnections).toBe(4096);
  expect(resolveConfig({ env: { TROUPE_MAX_MCP_SESSIONS: '3' } }).values.maxMcpSessions).toBe(3);
  expect(() => resolveConfig({ flags: { 'max-connections': '8' } })).toThrow(
    'Expected `--max-connections` to be at least 16 (a client holds several at once: its calls, a GET stream, a listen stream, the dashboard), got `8`',
  );
});
