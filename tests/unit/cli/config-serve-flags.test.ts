/**
 * `troupe config --redis URL` (or `--port`, `--host`, ...): a newcomer following operations.md
 * passes serve's own flags to config. It refuses them, as documented, and now says they are
 * `troupe serve`'s and what config reads instead; until 2026-12-07 it said only "Expected an
 * option of `troupe config`, got `--redis`".
 */
import { afterEach, expect, it, vi } from 'vitest';
import { command } from '../../../src/cli/show-config.js';

afterEach(() => vi.restoreAllMocks());

async function refusal(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await command.run(argv);
  return { code, stderr };
}

it('says a flag of serve’s is serve’s own, and what config reads instead', async () => {
  expect(await refusal(['--redis', 'redis://10.0.0.5:6379'])).toEqual({
    code: 2,
    stderr:
      'troupe config: Expected an option of `troupe config`, got `--redis`; run "troupe config --help" for its options (`--redis` is `troupe serve`\'s own: config shows the limits, the providers and the environment, TROUPE_REDIS_URL included)\n',
  });
  for (const flag of ['--port', '--host', '--allowed-hosts', '--otel', '--inspect']) {
    expect((await refusal([flag, '1'])).stderr).toContain(`(\`${flag}\` is \`troupe serve\`'s own:`);
  }
});

it('says nothing of serve for an option nobody has', async () => {
  expect((await refusal(['--bogus'])).stderr).toBe(
    'troupe config: Expected an option of `troupe config`, got `--bogus`; run "troupe config --help" for its options\n',
  );
});
