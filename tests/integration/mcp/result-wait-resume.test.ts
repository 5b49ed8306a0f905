/**
 * A `tasks/result` wait whose POST stream drops (a network blip) ends at once, giving its place
 * back (docs/mcp.md, Tasks). The SDK's client then resumes the stream with `Last-Event-ID` and
 * reads what the wait answered. That answer was a bare "Internal error" (the abort reason, a string,
 * thrown as is), for a task that was running fine; now it says the wait stopped, why, and that the
 * task goes on.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  // A dropped stream ends the wait at once here (no grace for a resume; disconnect-grace.test.ts has that).
  h = await startHarness({ http: { disconnectGraceMs: 0 } });
});
afterAll(async () => {
  await h.close();
});

const HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
  'MCP-Protocol-Version': '2025-11-25',
};

async function post(sid: string | undefined, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, ...(sid === undefined ? {} : { 'Mcp-Session-Id': sid }) },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

it('a tasks/result wait cut by a dropped stream resumes to an error that says the task goes on', async () => {
  const init = await post(undefined, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  await (await post(sid, { jsonrpc: '2.0', method: 'notifications/initialized' })).text();
  const created = await post(sid, {
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'slowly', provider: 'slow' }, task: {} },
  });
  const taskId = /"taskId":"([^"]+)"/.exec(await created.text())?.[1];
  expect(taskId).toBeDefined();

  const drop = new AbortController();
  const waiting = await post(
    sid,
    { jsonrpc: '2.0', id: 3, method: 'tasks/result', params: { taskId } },
    drop.signal,
  );
  const reader = waiting.body!.getReader();
  const priming = new TextDecoder().decode((await reader.read()).value);
  const primingId = /^id: ?(\S+)$/m.exec(priming)?.[1];
  expect(primingId).toBeDefined();
  drop.abort();

  let replayed = '';
  for (let i = 0; i < 50 && !replayed.includes('"id":3'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const resumed = await fetch(h.url, {
      method: 'GET',
      headers: {
        ...HEADERS,
        Accept: 'text/event-stream',
        'Mcp-Session-Id': sid,
        'Last-Event-ID': primingId!,
      },
    });
    const resumedReader = resumed.body!.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const next = await Promise.race([
        resumedReader.read(),
        new Promise<undefined>((resolve) => setTimeout(resolve, 200)),
      ]);
      if (next === undefined || next.done) break;
      replayed += decoder.decode(next.value, { stream: true });
    }
    await resumedReader.cancel().catch(() => undefined);
  }
  const answer = JSON.parse(/data: (\{.*"id":3.*\})/.exec(replayed)?.[1] ?? 'null');
  expect(answer?.error?.message).not.toBe('Internal error');
  expect(answer?.error?.message).toContain(`task ${taskId}`);
  expect(answer?.error?.message).toMatch(/stream was closed/);
  expect(answer?.error?.message).toMatch(/tasks\/result again|tasks\/get/);
  // And the task did go on.
  const task = await h.mcp.tasks.get(taskId!);
  expect(task?.status).toBe('working');
});
