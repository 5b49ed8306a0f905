/**
 * A task's progress report held to MCP's progress notification (`ProviderCall`'s `progress`), so a
 * value JSON and MCP cannot carry is refused where the task reports it.
 */
import { describe, runtimeError } from '../core/errors.js';

/** MCP's progress notification: `progress` a number, `total` a number and `message` a string if given. */
export function checkProgress(progress: unknown, total: unknown, message: unknown): void {
  const refuse = (name: string, expected: string, value: unknown) => {
    throw runtimeError('INVALID_REQUEST', `Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  };
  if (!Number.isFinite(progress)) refuse('progress', 'a finite number', progress);
  if (total !== undefined && !Number.isFinite(total)) refuse('total', 'a finite number, or left out', total);
  if (message !== undefined && typeof message !== 'string')
    refuse('message', 'a string, or left out', message);
}

/**
 * Whether a task's `progress(...)` was reported: the runtime's returns `false` for one it ignored
 * (`TaskContext.progress` is typed `void`, so a context of your own that returns nothing counts as taken).
 */
export function tookProgress(result: unknown): boolean {
  return result !== false;
}
