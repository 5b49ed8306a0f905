/**
 * Runs in each test worker before each file (a setup file added by `file-watchdog.ts`): notes this
 * worker's process id under the file it is about to run, for the watchdog in the main process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, inject } from 'vitest';

const file = expect.getState().testPath;
if (file !== undefined) writeFileSync(join(inject('troupeWatchdogDir'), String(process.pid)), file);
