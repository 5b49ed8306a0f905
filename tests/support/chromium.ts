/**
 * Debian's headless Chromium for the browser tests (dashboard, layout, chart geometry), driven by
 * playwright-core, or the Chromium or Chrome binary TROUPE_CHROMIUM names. `npm test` installs
 * Debian's (scripts/test-deps.mjs); without one the tests fail, never skip.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = process.env.TROUPE_CHROMIUM?.trim() || '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  expect(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: apt-get install -y chromium, or set TROUPE_CHROMIUM to a Chromium or Chrome binary`,
  ).toBe(true);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
