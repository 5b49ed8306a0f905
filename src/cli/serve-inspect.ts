/**
 * `troupe serve --inspect`: the connection to Stately's inspector (troupe's own sender,
 * src/observe/inspector-sender.ts), its drops and connections told to the server's log.
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
