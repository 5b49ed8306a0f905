/**
 * `troupe serve`'s own flags (beside the settings every command takes, `settingOptions`): parsed
 * by `serve.ts`, and named by `troupe config` when one is given to it (`show-config.ts`).
 */
export const SERVE_FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  redis: { type: 'string' },
  'allowed-hosts': { type: 'string' },
  'allowed-origins': { type: 'string' },
  'insecure-no-token': { type: 'boolean' },
  inspect: { type: 'boolean' },
  'inspect-url': { type: 'string' },
  'inspect-sample': { type: 'string' },
  otel: { type: 'boolean' },
} as const;
