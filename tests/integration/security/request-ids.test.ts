/**
 * A session's metadata echoes the JSON-RPC id of the call that started it (`requestId`), and the
 * ended-session history keeps 1,000 of them. A client picks its ids: before, 140 chat calls with
 * 3 MB string ids took `troupe serve` from 94 MB to 700 MB, each kept whole. Now the metadata keeps
 * the id's first `MAX_REQUEST_ID_LENGTH` characters and its length; the JSON-RPC answer still
 * carries the id as sent. Raw HTTP, to choose the id.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_REQUEST_ID_LENGTH } from '../../../src/mcp/request-ids.js';
import { openLegacySession, postMcp } from '../../support/raw-session.js';
import { type Harness, startHarness } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

it('keeps the head of a long request id in the session metadata and the history, and answers with the whole id', async () => {
  const sid = await openLegacySession(h.url);
  const id = `call-${'r'.repeat(60_000)}`;
  const response = await postMcp(h.url, sid, {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'hi', provider: 'fast' } },
  });
  const text = await response.text();
  const message = JSON.parse(
    text
      .split('\n')
      .find((line) => line.startsWith('data: {'))
      ?.slice('data: '.length) ?? text,
  );
  expect(message.id).toBe(id);
  const kept = `${id.slice(0, MAX_REQUEST_ID_LENGTH)}… (${id.length} characters)`;
  expect(message.result.structuredContent.session.requestId).toBe(kept);
  const recent = h.mcp.runtime.status({ recent: 10 }).recent;
  expect(recent.map((s) => s.requestId)).toEqual([kept]);
  // An id within the bound is kept as sent.
  const short = await postMcp(h.url, sid, {
    jsonrpc: '2.0',
    id: 'short-id',
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'hi', provider: 'fast' } },
  });
  expect(await short.text()).toContain('"requestId":"short-id"');
});

it('keeps the head of a long request id for a call run as a task, which runs as a plain call does', async () => {
  // Until 2026-12-07 a task kept the id whole for its session, and the runtime refused one past
  // 256 characters: the task failed INVALID_REQUEST "Expected `requestId` to be a string of at most
  // 256 characters", naming nothing the client had sent as an argument.
  const sid = await openLegacySession(h.url);
  const id = `task-${'t'.repeat(60_000)}`;
  const response = await postMcp(h.url, sid, {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'hi', provider: 'fast' }, task: {} },
  });
  const text = await response.text();
  const created = JSON.parse(
    text
      .split('\n')
      .find((line) => line.startsWith('data: {'))
      ?.slice('data: '.length) ?? text,
  );
  expect(created.id).toBe(id);
  const taskId = created.result.task.taskId as string;
  const result = await postMcp(h.url, sid, {
    jsonrpc: '2.0',
    id: 'result-1',
    method: 'tasks/result',
    params: { taskId },
  });
  const answer = await result.text();
  const kept = `${id.slice(0, MAX_REQUEST_ID_LENGTH)}… (${id.length} characters)`;
  expect(answer).toContain('"ok":true');
  expect(answer).toContain(`"requestId":"${kept}"`);
});
