/**
 * Reads a request body under a byte cap, before any MCP machinery sees it: a body over the cap is
 * refused without being buffered whole.
 */
import type { IncomingMessage } from 'node:http';

export type BodyRead =
  | { readonly kind: 'ok'; readonly value: unknown }
  | { readonly kind: 'tooLarge' }
  | { readonly kind: 'invalid' };

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume(); // drain without keeping it, so the 413 can be written
    return { kind: 'tooLarge' };
  }
  // Events, not `for await`: leaving an async iterator early destroys the socket, and the 413 with it.
  const body = await new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume(); // keep draining so the response can still be written
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
  });
  if (body === undefined) return { kind: 'tooLarge' };
  const text = body.toString('utf8');
  if (text.trim() === '') return { kind: 'invalid' };
  try {
    return { kind: 'ok', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
}
