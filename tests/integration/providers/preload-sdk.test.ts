/** `preloadSdk` (serve and stdio, once they answer) loads the SDK and undici before any call. */
import { describe, expect, it, vi } from 'vitest';
import { preloadSdk } from '../../../src/providers/sdk-clients.js';

const loads = vi.hoisted(() => ({ sdk: 0, undici: 0 }));
vi.mock('openai', async (importOriginal) => {
  loads.sdk += 1;
  return importOriginal();
});
vi.mock('../../../src/providers/undici-fetch.js', async (importOriginal) => {
  loads.undici += 1;
  return importOriginal();
});

describe('preloadSdk', () => {
  it('loads the SDK and undici with no provider made and no call', async () => {
    expect(loads).toEqual({ sdk: 0, undici: 0 });
    await preloadSdk();
    await preloadSdk();
    expect(loads).toEqual({ sdk: 1, undici: 1 });
  });
});
