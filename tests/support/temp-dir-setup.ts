/**
 * Runs in each test worker before each file (`setupFiles` in `vitest.config.ts`): registered first,
 * this `afterAll` runs after the file's own, and removes the directories the file made with
 * `tempDir` (`temp-dir.ts`).
 */
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dir.js';

afterAll(removeTempDirs);
