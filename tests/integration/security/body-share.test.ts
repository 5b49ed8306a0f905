/**
 * One caller cannot take every byte of the bodies being received (`maxBodyBytesInFlight`, for all
 * connections): a named token trickling a few bodies just under the cap and stalling them held the
 * whole budget for the request timeout, and every other client's POST got 503 meanwhile, again
 * as soon as it resent them. Each caller (its scope key) now has a share
 * (`maxBodyBytesInFlightPerCaller`); past it only its own bodies get 503, naming it. Raw sockets.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    http: {
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        { name: 'bob', token: 'bob-token-22' },
      ],
      maxBodyBytes: 256 * 1024,
      maxBodyBytesInFlight: 1024 * 1024,
    },
  });
});
afterAll(async () => {
  await h.close();
});

/** A POST of `token` that declares `declared` bytes and sends `sent` of them (all when equal). */
function post(
  token: string,
  declared: number,
  sent: number,
): Promise<{ socket: Socket; answer: () => string }> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(h.url.port), '127.0.0.1', () => {
      const body =
        `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"${'a'.repeat(declared - 60)}"}}`.padEnd(
          declared,
          ' ',
        );
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${h.url.port}\r\nAuthorization: Bearer ${token}\r\n` +
          'Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n' +
          `MCP-Protocol-Version: 2025-11-25\r\nContent-Length: ${declared}\r\n\r\n`,
      );
      socket.write(body.slice(0, sent), () => resolve({ socket, answer: () => answer }));
    });
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    socket.on('error', reject);
  });
}

it("refuses only the caller whose bodies hold its share of the bytes in flight; another's still arrive", async () => {
  const size = 250 * 1024;
  // Four stalled bodies of alice's: about all of the 1 MiB in flight, were she allowed it.
  const stalled: { socket: Socket; answer: () => string }[] = [];
  for (let i = 0; i < 4; i++) {
    stalled.push(await post('alice-token-1', size, size - 100));
    await new Promise((r) => setTimeout(r, 100));
  }
  // Her share (a quarter: 256 KiB) took one; the others were refused, naming her.
  await expect
    .poll(() => stalled.filter((s) => s.answer().startsWith('HTTP/1.1 503')).length, { timeout: 5000 })
    .toBe(3);
  const refused = stalled.find((s) => s.answer() !== '')?.answer() ?? '';
  expect(refused).toContain(
    'Expected at most 262144 bytes of request bodies in flight at once for caller `token:alice`, got one more: send this request again once your other requests',
  );
  // Bob's whole body arrives and is answered (a ping without a session: 400, from the MCP layer).
  const bob = await post('bob-token-22', 100_000, 100_000);
  await expect.poll(() => bob.answer(), { timeout: 5000 }).toMatch(/^HTTP\/1\.1 (200|400) /);
  // Alice's stalled bodies leave: her share is hers again.
  for (const s of [...stalled, bob]) s.socket.destroy();
  await expect
    .poll(
      async () => {
        const again = await post('alice-token-1', size, size);
        await new Promise((r) => setTimeout(r, 200));
        again.socket.destroy();
        return again.answer().split('\r\n')[0];
      },
      { timeout: 5000, interval: 100 },
    )
    .toMatch(/^HTTP\/1\.1 (200|400) /);
});

it('refuses a chunked body (no Content-Length) with 413 as it crosses maxBodyBytes, not 503 once it fills the share', async () => {
  // Without a length the cap cannot be checked up front: it is checked as each chunk arrives. A body
  // read on to the caller's share would be answered 503 "retry", and a client would resend a body
  // that can never be taken. 2 MiB in 16 KiB chunks, past the cap, the share and the whole budget.
  const chunk = new Uint8Array(16 * 1024).fill(32);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 2 * 1024 * 1024) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await fetch(h.url, {
    method: 'POST',
    headers: {
      authorization: 'Bearer bob-token-22',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body,
    duplex: 'half',
  } as RequestInit);
  expect(res.status).toBe(413);
  await res.body?.cancel();
});
