/**
 * Redis's eviction policy in troupe's log: troupe's own check reads `INFO memory` once, and BullMQ's
 * bare `console.warn` line is routed to the same warning instead of stderr (`eviction.ts`).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  evictionPolicy,
  routeBullmqEvictionLines,
  watchEvictionPolicy,
} from '../../../src/scale/eviction.js';

const BULLMQ = (policy: string) => `IMPORTANT! Eviction policy is ${policy}. It should be "noeviction"`;
const infoSaying = (policy: string) => ({
  info: async () =>
    `# Memory\r\nused_memory:1024\r\nmaxmemory_policy:${policy}\r\nmem_fragmentation_ratio:1.2\r\n`,
});

afterEach(() => vi.restoreAllMocks());

describe('the eviction policy', () => {
  it('is read from INFO memory', async () => {
    await expect(evictionPolicy(infoSaying('allkeys-lru'))).resolves.toBe('allkeys-lru');
    await expect(
      evictionPolicy({ info: async () => '# Memory\r\nused_memory:1\r\n' }),
    ).resolves.toBeUndefined();
  });

  it('other than noeviction is told once, BullMQ’s lines for it included, and none reach stderr', async () => {
    const printed = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const heard: unknown[] = [];
    const stop = await watchEvictionPolicy(infoSaying('allkeys-lru'), (message, fields) =>
      heard.push([message, fields]),
    );
    console.warn(BULLMQ('allkeys-lru'));
    console.warn(BULLMQ('allkeys-lru'));
    expect(heard).toEqual([
      [
        'Redis maxmemory-policy is "allkeys-lru"; BullMQ needs "noeviction": at maxmemory an evicted key loses a queued session or a lock (set it with CONFIG SET maxmemory-policy noeviction, or in redis.conf)',
        { maxmemoryPolicy: 'allkeys-lru' },
      ],
    ]);
    // Another policy later (a CONFIG SET since) is told too.
    console.warn(BULLMQ('volatile-ttl'));
    expect(heard).toHaveLength(2);
    expect(printed).not.toHaveBeenCalled();
    stop();
    expect(console.warn).toBe(printed);
  });

  it('noeviction is not told, and any other console.warn goes through unchanged', async () => {
    const printed = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const heard: string[] = [];
    const stop = await watchEvictionPolicy(infoSaying('noeviction'), (message) => heard.push(message));
    console.warn(BULLMQ('noeviction'));
    console.warn('It is highly recommended to use a minimum Redis version of 6.2.0', 'x');
    console.warn(`${BULLMQ('allkeys-lru')} (not BullMQ's line)`);
    expect(heard).toEqual([]);
    expect(printed.mock.calls).toEqual([
      ['It is highly recommended to use a minimum Redis version of 6.2.0', 'x'],
      [`${BULLMQ('allkeys-lru')} (not BullMQ's line)`],
    ]);
    stop();
  });

  it('a Redis that refuses INFO is said, and leaves it to BullMQ’s lines', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const heard: string[] = [];
    const refusing = { info: async () => Promise.reject(new Error("ERR unknown command 'INFO'")) };
    const stop = await watchEvictionPolicy(refusing, (message) => heard.push(message));
    expect(heard).toEqual([
      `could not read Redis's maxmemory-policy (INFO memory: ERR unknown command 'INFO'); BullMQ needs "noeviction"`,
    ]);
    console.warn(BULLMQ('allkeys-random'));
    expect(heard).toEqual([heard[0], expect.stringContaining('"allkeys-random"')]);
    stop();
  });

  it('goes back to printing when the last backend stops listening', () => {
    const printed = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const a: string[] = [];
    const b: string[] = [];
    const stopA = routeBullmqEvictionLines((p) => a.push(p));
    const stopB = routeBullmqEvictionLines((p) => b.push(p));
    console.warn(BULLMQ('allkeys-lfu'));
    stopA();
    console.warn(BULLMQ('volatile-lru'));
    expect([a, b]).toEqual([['allkeys-lfu'], ['allkeys-lfu', 'volatile-lru']]);
    stopB();
    console.warn(BULLMQ('volatile-lfu'));
    expect(printed).toHaveBeenCalledWith(BULLMQ('volatile-lfu'));
    expect(console.warn).toBe(printed);
  });
});
