/**
 * `troupe serve --inspect`: the connection to Stately's inspector (troupe's own sender,
 * src/observe/inspector-sender.ts), its drops and connections told to the server's log, and what
 * its stop drops.
 */
import { type ConnectedInspector, connectInspector } from '../observe/inspect.js';
import type { Logger } from '../observe/logger.js';
import type { WatchOptions } from './bootstrap.js';

/** `--inspect`: the connected inspector (its first drop and each connection opened or lost logged) and the options that send to it. */
export async function inspectionFrom(
  { 'inspect-url': url, 'inspect-sample': sample }: { 'inspect-url'?: string; 'inspect-sample'?: string },
  logger: Logger,
): Promise<{ inspector: ConnectedInspector; watch: WatchOptions }> {
  const rate = sample === undefined ? 1 : Number(sample);
  if (sample !== undefined && !(sample.trim() !== '' && rate > 0 && rate <= 1))
    throw new Error(`Expected \`--inspect-sample\` to be a number in (0, 1], got \`${sample}\``);
  const inspector = await connectInspector({
    ...(url === undefined ? {} : { url }),
    onFirstDrop: (message) => logger.warn(message),
    onConnectionChange: (message, connected) => (connected ? logger.info(message) : logger.warn(message)),
  });
  return { inspector, watch: { inspect: inspector.observer, inspectSampleRate: rate } };
}

/**
 * The inspector stopped at the server's stop: the events it still held (nothing listened, or the
 * inspector read slowly) are dropped, and a warning says how many (until 2026-12-07 nothing did).
 */
export function stopInspecting(inspector: ConnectedInspector | undefined, logger: Logger): void {
  if (inspector === undefined) return;
  const before = inspector.droppedEvents;
  inspector.stop();
  const dropped = inspector.droppedEvents - before;
  if (dropped > 0)
    logger.warn(
      { dropped },
      `stopped sending to the Stately inspector at ${inspector.url}: the ${dropped} event(s) it had not taken yet were dropped`,
    );
}
