/** The shape of one named tool-contract property, and what the properties share. */
import type { FastCheck } from '../fast-check.js';
import { type CallOutcome, now, type ToolHarness } from './harness.js';
import type { ToolArguments, ToolContractPropertyName } from './types.js';

export interface ToolContext {
  readonly harness: ToolHarness;
  readonly args: readonly ToolArguments[];
  readonly abortWithinMs: number;
  readonly callTimeoutMs: number;
  /** Aborts are drawn from 0 to this many ms into the handler: most of its running time. */
  readonly windowMs: number;
  /** A call that asked for progress fails `progressDelivered` when the handler reported none. */
  readonly requireProgress: boolean;
  readonly observed: { abortsInFlight: number; disconnectsInFlight: number; progressReports: number };
}

export interface ToolProperty<C = never> {
  readonly name: ToolContractPropertyName;
  /** One line: what it holds the tool to. */
  readonly title: string;
  /** Cases run before the random ones, so no kind of abort depends on the draw to be met. */
  examples(context: ToolContext): readonly C[];
  arbitrary(fc: FastCheck, context: ToolContext): import('fast-check').Arbitrary<C>;
  /** Runs one case; throws "Expected X, got Y" when the tool breaks the property. */
  check(context: ToolContext, c: C): Promise<void>;
}

/** How long past the bound a check waits before it calls a handler or session still running. */
export const GRACE_MS = 200;

/** A failure that is only about time: tried once more before it counts. */
export class LateError extends Error {}

/** Runs `run`; a `LateError` is tried once more, and counts only when it is late again. */
export async function retryingLate(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof LateError)) throw error;
    try {
      await run();
    } catch (again) {
      if (again instanceof LateError) again.message += ' (late in 2 of 2 tries)';
      throw again;
    }
  }
}

/** Resolves once `done()` holds or `untilAt` (a `now()` time) passed, checking every few ms. */
export async function waitUntil(done: () => boolean, untilAt: number): Promise<void> {
  while (!done() && now() < untilAt) await new Promise((resolve) => setTimeout(resolve, 5));
}

export const ms = (value: number): number => Math.round(value);

export const argsText = (args: ToolArguments): string => {
  const text = JSON.stringify(args);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

/** The error result's text, or what the client threw, for a message. */
export function answerText(answer: CallOutcome['answer']): string {
  if ('error' in answer)
    return `the client's error ${answer.error instanceof Error ? `"${answer.error.message}"` : String(answer.error)}`;
  const content = answer.result.content;
  const first = Array.isArray(content) ? (content[0] as { text?: unknown } | undefined) : undefined;
  const text = typeof first?.text === 'string' ? first.text : JSON.stringify(content);
  return `${answer.result.isError === true ? 'an isError result' : 'a result'} "${text.slice(0, 160)}"`;
}

/**
 * What is wrong with `structuredContent.session`, or `undefined`: the session metadata
 * `withSession` puts there (docs/embedding.md, "What comes back").
 */
export function metadataProblem(
  metadata: unknown,
  state: string,
  sessionId: string | undefined,
): string | undefined {
  if (typeof metadata !== 'object' || metadata === null)
    return `Expected \`structuredContent.session\` to hold the session's metadata, got ${JSON.stringify(metadata) ?? 'none'}`;
  const m = metadata as Record<string, unknown>;
  if (m.state !== state)
    return `Expected \`structuredContent.session.state\` "${state}", got ${JSON.stringify(m.state)}`;
  if (sessionId !== undefined && m.sessionId !== sessionId)
    return `Expected \`structuredContent.session.sessionId\` to be the handler's session "${sessionId}", got ${JSON.stringify(m.sessionId)}`;
  for (const key of ['queuedMs', 'runMs', 'totalMs'])
    if (typeof m[key] !== 'number' || (m[key] as number) < 0)
      return `Expected \`structuredContent.session.${key}\` to be a number of ms, got ${JSON.stringify(m[key])}`;
  if (!Number.isInteger(m.attempts) || (m.attempts as number) < 1)
    return `Expected \`structuredContent.session.attempts\` to be a whole number from 1, got ${JSON.stringify(m.attempts)}`;
  for (const key of ['provider', 'model', 'requestId'])
    if (typeof m[key] !== 'string')
      return `Expected \`structuredContent.session.${key}\` to be a string, got ${JSON.stringify(m[key])}`;
  return undefined;
}
