/**
 * What the provider contract (`contract/`) and the tool contract (`tool/`) share: a property's
 * failure as fast-check found it, and the error that names every broken property with the seed
 * to replay it.
 */
import type { RunDetails } from 'fast-check';
import type { FastCheck } from './fast-check.js';

/** One broken property: what it said, and the shrunk case to replay. */
export interface PropertyFailure<P extends string> {
  readonly property: P;
  readonly seed: number;
  /** What broke, as the property said it ("Expected ..., got ..."). */
  readonly message: string;
  /** The shrunk case, as fast-check prints it. */
  readonly counterexample: string;
  readonly path: string;
  readonly shrinks: number;
}

/** A property's failure from fast-check's run details; `undefined` when it held. */
export function failureOf<P extends string, Ts extends [unknown]>(
  fc: FastCheck,
  property: P,
  details: RunDetails<Ts>,
): PropertyFailure<P> | undefined {
  if (!details.failed) return undefined;
  const error = details.errorInstance;
  const message = error instanceof Error ? error.message : String(error);
  return {
    property,
    seed: details.seed,
    message: message.split('\n')[0] ?? message,
    counterexample: details.counterexample === null ? '(none)' : fc.stringify(details.counterexample[0]),
    path: details.counterexamplePath ?? '',
    shrinks: details.numShrinks,
  };
}

interface BrokenReport<P extends string> {
  readonly seed: number;
  readonly numRuns: number;
  readonly failures: readonly PropertyFailure<P>[];
}

/** Thrown when a property breaks: its message names each one, with the seed and runs to replay them. */
export class ContractBroken<P extends string, R extends BrokenReport<P>> extends Error {
  constructor(
    /** What broke, e.g. `Provider contract broken by "kimi"`. */
    title: string,
    readonly report: R,
    /** `path`: the suite takes `{ seed, only, path }`, and each failure says how to replay it alone. */
    replay: { readonly path?: boolean } = {},
  ) {
    super(formatFailures(title, report, replay.path === true));
  }

  get failures(): readonly PropertyFailure<P>[] {
    return this.report.failures;
  }

  /** The names of the broken properties. */
  get broken(): readonly P[] {
    return this.report.failures.map((f) => f.property);
  }
}

function formatFailures<P extends string>(title: string, report: BrokenReport<P>, withPath: boolean): string {
  const lines = [
    `${title}: ${report.failures.map((f) => f.property).join(', ')} ` +
      `(seed ${report.seed}, ${report.numRuns} runs a property; replay with { seed: ${report.seed}, numRuns: ${report.numRuns} })`,
  ];
  for (const failure of report.failures) {
    lines.push(`  ${failure.property}: ${failure.message}`);
    lines.push(
      `    shrunk case (${failure.shrinks} shrinks, path "${failure.path}"): ${failure.counterexample}`,
    );
    if (withPath && failure.path !== '')
      lines.push(
        `    this case alone: { seed: ${failure.seed}, only: [${JSON.stringify(failure.property)}], path: ${JSON.stringify(failure.path)} }`,
      );
  }
  return lines.join('\n');
}
