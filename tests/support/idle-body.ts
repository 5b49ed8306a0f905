/**
 * What an adapter of one's own on `fetch` does with `CallOptions.idleTimeoutMs` for an answer read
 * whole: the body read chunk by chunk, each read given that long; past it the request is aborted
 * (its connection closed) and the call ends as the runtime's idle `TIMED_OUT`, not retried. Used
 * by the hand-written test adapters (plain-adapter.ts, sdk-adapter.ts), which the provider contract
 * holds to it.
 */
import { TroupeError } from '../../src/core/errors.js';

/** A signal that aborts with `signal` and when `stalled` is aborted. */
export function withStall(signal: AbortSignal): { signal: AbortSignal; stalled: AbortController } {
  const stalled = new AbortController();
  return { signal: AbortSignal.any([signal, stalled.signal]), stalled };
}

export function stalledError(name: string, idleMs: number): TroupeError {
  return new TroupeError(
    'runtime',
    'TIMED_OUT',
    `${name}: Expected the answer's body to keep coming, no byte of it came for ${idleMs} ms`,
    { timeout: 'idle' },
  );
}

/**
 * The body as text, `idleMs` the longest wait for each read (none: read as `text()` reads). On a
 * stall `stalled` is aborted (the request and its connection end) and the stall's error thrown.
 */
export function textWithin(
  response: Response,
  idleMs: number | undefined,
  stalled: AbortController,
  name: string,
): Promise<string> {
  return (idleMs === undefined ? response : bounded(response, idleMs, stalled, name)).text();
}

/**
 * The response with its body passed through a watch that errors it with the stall's error after
 * `idleMs` of silence (aborting `stalled`), for whoever reads it: the adapter, or the `openai` SDK.
 */
export function bounded(
  response: Response,
  idleMs: number,
  stalled: AbortController,
  name: string,
): Response {
  if (response.body === null) return response;
  const reader = response.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const silent = new Promise<'silent'>((resolve) => {
        timer = setTimeout(() => resolve('silent'), idleMs);
      });
      const read = await Promise.race([reader.read(), silent]).finally(() => clearTimeout(timer));
      if (read === 'silent') {
        stalled.abort();
        reader.cancel().catch(() => {});
        controller.error(stalledError(name, idleMs));
      } else if (read.done) controller.close();
      else controller.enqueue(read.value);
    },
    cancel(reason) {
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
