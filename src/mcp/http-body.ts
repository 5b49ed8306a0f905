/**
 * Reads a request body under a byte cap and a nesting bound, before any MCP machinery sees it: a
 * body over the cap is refused without being buffered whole, and one nested deeper than the bound
 * is refused before a recursive validator could overflow the stack on it.
 */
import type { IncomingMessage } from 'node:http';

export type BodyRead =
  | { readonly kind: 'ok'; readonly value: unknown }
  | { readonly kind: 'tooLarge' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'tooDeep' };

/** Deepest JSON nesting accepted; MCP messages nest a handful of levels, tool schemas a few dozen. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

export async function readBody(
  req: IncomingMessage,
  maxBytes: number,
  maxDepth = DEFAULT_MAX_JSON_DEPTH,
): Promise<BodyRead> {
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
  if (jsonDepth(text) > maxDepth) return { kind: 'tooDeep' };
  try {
    return { kind: 'ok', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
}

/**
 * The deepest bracket nesting in JSON text, counted without parsing (brackets inside strings are
 * skipped), so the bound is checked in one pass with no recursion.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}
