/**
 * The text a streamed session's observers were sent, read from `handle.events` to its end; `onText`
 * hears the text so far after each content delta (a test stops or cuts something mid-answer there).
 */
import type { SessionHandle } from '../../src/runtime/types.js';

export async function contentWritten(
  handle: Pick<SessionHandle, 'events'>,
  onText: (written: string) => void = () => {},
): Promise<string> {
  let written = '';
  for await (const event of handle.events) {
    if (event.type !== 'session.delta' || event.delta.type !== 'content') continue;
    written += event.delta.text;
    onText(written);
  }
  return written;
}
