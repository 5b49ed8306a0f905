/** The shape of one named contract property, and the finish reasons the port documents. */
import type { ChatDelta } from '../../providers/port.js';
import type { FastCheck } from '../fast-check.js';
import type { ContractContext } from './harness.js';
import type { ContractPropertyName } from './types.js';

export interface ContractProperty {
  readonly name: ContractPropertyName;
  /** One line: what it holds the adapter to (also the vitest test's name). */
  readonly title: string;
  /** Why it cannot run here (no server, capability not declared), or `undefined` when it can. */
  skip(context: ContractContext): string | undefined;
  /**
   * Cases run before the random ones, one per discrete kind (each fault, each abort phase, each
   * capability), so no class of bug depends on the draw to be met. @default none
   */
  examples?(context: ContractContext): readonly unknown[];
  /** The fast-check property; its predicate throws "Expected X, got Y" when the adapter breaks it. */
  build(fc: FastCheck, context: ContractContext): import('fast-check').IAsyncPropertyWithHooks<[never]>;
}

export const FINISH_REASONS = ['stop', 'length', 'tool_calls', 'content_filter'] as const;

export const needsServer = (context: ContractContext): string | undefined =>
  context.server === undefined ? 'needs `server` (a createOpenAIServer() the provider points at)' : undefined;

/** Widens a typed fast-check property to the list's element type. */
export function erase<T>(property: import('fast-check').IAsyncPropertyWithHooks<[T]>) {
  return property as unknown as import('fast-check').IAsyncPropertyWithHooks<[never]>;
}

/**
 * Whether a `finish` delta is among those read. Without a server a provider's whole answer may be a
 * few deltas: once its finish came, nothing is left to abort or break.
 */
export const finishRead = (deltas: readonly (ChatDelta | undefined)[]): boolean =>
  deltas.some((d) => d?.type === 'finish');
