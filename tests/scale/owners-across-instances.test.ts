/**
 * A named token's sessions on a cluster, through the MCP front of another instance: the `sessions`
 * tool finds it by id and in its lists, and `cancel_session` cancels it, for that token (and an
 * admin); another token gets UNKNOWN_SESSION. Before, the owner index was the instance's own, so
 * a session started through instance A showed through instance B to admins only. Two in-process
 * instances on in-memory cluster ports, each serving MCP over real HTTP, the SDK's own client.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { clientWith, type Harness, startHarness, structured } from '../integration/mcp/harness.js';

const tokens = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
  { name: 'ops', token: 'admin-token-333', admin: true },
];
let a: Harness;
let b: Harness;

beforeAll(async () => {
  const hub = new MemoryClusterHub();
  const instance = () =>
    startHarness({
      providers: [createSimulatedProvider({ name: 'slow', latencyMs: { min: 5000, max: 5000 } })],
      runtime: { backend: memoryClusterBackend({ hub, sweepIntervalMs: 1000 }) },
      http: { tokens },
    });
  a = await instance();
  b = await instance();
});
afterAll(async () => {
  await Promise.allSettled([a.close(), b.close()]);
});

it('finds and cancels a token’s own session through another instance; another token cannot', async () => {
  const aliceOnA = await clientWith(a, 'alice-token-1');
  const [aliceOnB, bobOnB, opsOnB] = await Promise.all(tokens.map((t) => clientWith(b, t.token)));
  const call = aliceOnA.callTool({ name: 'chat', arguments: { prompt: 'slow', provider: 'slow' } });
  let id = '';
  await expect
    .poll(async () => {
      const live = structured(await aliceOnB!.callTool({ name: 'sessions', arguments: {} })).live_by_state;
      id = [...live.queued, ...live.running][0]?.sessionId ?? '';
      return id;
    })
    .not.toBe('');
  expect(
    structured(await aliceOnB!.callTool({ name: 'sessions', arguments: { session_id: id } })),
  ).toMatchObject({
    ok: true,
    session: { sessionId: id, owner: 'token:alice' },
  });
  const bobs = structured(await bobOnB!.callTool({ name: 'sessions', arguments: {} })).live_by_state;
  expect([...bobs.queued, ...bobs.running]).toEqual([]);
  for (const name of ['sessions', 'cancel_session'])
    expect(structured(await bobOnB!.callTool({ name, arguments: { session_id: id } })).error.code).toBe(
      'UNKNOWN_SESSION',
    );
  expect(structured(await opsOnB!.callTool({ name: 'sessions', arguments: { session_id: id } })).ok).toBe(
    true,
  );
  expect(
    structured(await aliceOnB!.callTool({ name: 'cancel_session', arguments: { session_id: id } })).cancelled,
  ).toBe(true);
  expect(structured(await call).error.code).toBe('CANCELLED');
  // Ended: still hers through B, in her recent sessions, and not bob's.
  await expect
    .poll(async () =>
      structured(await aliceOnB!.callTool({ name: 'sessions', arguments: {} })).recent.map(
        (s: { sessionId: string }) => s.sessionId,
      ),
    )
    .toContain(id);
  expect(structured(await bobOnB!.callTool({ name: 'sessions', arguments: {} })).recent).toEqual([]);
});
