/**
 * The stdio guard holds a request's JSON outside `params.arguments` to `maxEnvelopeBytes`, as the
 * HTTP front does (`http-body.ts`): measured as the JSON written again, which a short line can
 * outgrow (`1e20` is written `100000000000000000000`), so a line is measured unless it is too
 * short for any message written from it to pass the bound.
 */
import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { checkLine, guardStdin } from '../../../src/mcp/stdio-guard.js';

const request = (id: unknown, params: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params });

it('refuses a request over the bound by its id, outside its arguments only', () => {
  const junk = 'j'.repeat(65_536);
  const over = { name: 'chat', arguments: { prompt: 'x' }, _meta: { junk } };
  const bytes = Buffer.byteLength(request(4, { ...over, arguments: null }));
  expect(checkLine(request(4, over))).toEqual({
    ok: false,
    code: -32600,
    message: `Invalid Request: expected at most 65536 bytes of a request's JSON outside \`params.arguments\` (its id, \`_meta\` and other fields, held while it waits), got ${bytes}`,
    id: 4,
  });
  expect(checkLine(request('s', { name: 'chat', arguments: { prompt: junk } }))).toEqual({ ok: true });
  // A notification, a response and `initialize` are no request waiting (initialize has a bound of its own).
  expect(checkLine(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/x', params: { junk } }))).toEqual({
    ok: true,
  });
  expect(checkLine(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { junk } }))).toEqual({ ok: true });
  expect(
    checkLine(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { junk } })),
  ).toEqual({ ok: true });
});

it('measures a line shorter than the bound whose JSON written again is over it', () => {
  // 3,200 numbers of 5 characters on a line of about 16 KiB; written again, about 69 KiB.
  const line = `{"jsonrpc":"2.0","id":9,"method":"ping","params":{"_meta":{"n":[${Array(3200).fill('1e20').join(',')}]}}}`;
  expect(line.length).toBeLessThan(65_536 / 4);
  expect(checkLine(line)).toMatchObject({ ok: false, code: -32600, id: 9 });
  expect(checkLine(line, 64, 80_000)).toEqual({ ok: true });
});

it('answers the refusal on the guarded stream by its id, with the bound it was given, and passes the next line', async () => {
  const input = new PassThrough();
  const answers: string[] = [];
  const out = guardStdin(input, (line) => answers.push(line), { maxEnvelopeBytes: 1000 });
  const passed: string[] = [];
  out.on('data', (d: Buffer) => passed.push(d.toString()));
  const within = request(2, {
    name: 'chat',
    arguments: { prompt: 'p'.repeat(5000) },
    _meta: { m: 'm'.repeat(800) },
  });
  input.end(`${request(1, { name: 'chat', arguments: {}, _meta: { m: 'm'.repeat(1000) } })}\n${within}\n`);
  await new Promise((resolve) => out.on('end', resolve).resume());
  expect(answers.map((a) => JSON.parse(a))).toEqual([
    {
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32600,
        message:
          "Invalid Request: expected at most 1000 bytes of a request's JSON outside `params.arguments` (its id, `_meta` and other fields, held while it waits), got 1105",
      },
    },
  ]);
  expect(passed.join('')).toBe(`${within}\n`);
});

it('refuses a listen request naming more than the bound of resource URIs before anything observes it', async () => {
  const input = new PassThrough();
  const answers: string[] = [];
  const observed: unknown[] = [];
  const out = guardStdin(input, (line) => answers.push(line), {
    onMessage: (message) => {
      observed.push((message as { id: unknown }).id);
      return undefined;
    },
  });
  const listen = (id: number, uri: string) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'subscriptions/listen',
      params: { notifications: { resourceSubscriptions: [uri] } },
    });
  input.end(`${listen(1, `troupe://sessions/${'x'.repeat(65_536)}`)}\n${listen(2, 'troupe://sessions')}\n`);
  await new Promise((resolve) => out.on('end', resolve).resume());
  expect(answers.map((a) => JSON.parse(a).id)).toEqual([1]);
  expect(observed).toEqual([2]);
});
