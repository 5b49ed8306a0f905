/**
 * node:util's `parseArgs` refusals, said the way the rest of troupe says them ("Expected X, got Y"
 * and what to do): its own texts ("Unknown option '--bogus'. To specify a positional argument
 * starting with a '-', place it at the end ...", "Option '--sessions' argument is ambiguous.") name
 * Node's rules, not the command's. Anything else keeps its own message.
 */

/** An integer option's range and default, to show a value it takes. */
export interface IntRange {
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
}

/**
 * One line for a failed `parseArgs` of `troupe <command>`, ending with where the options are.
 * `ints`: the command's integer options, whose example of a value is their default, not `=-1`
 * (until 2026-12-05 `--sessions -5` was told to write `--sessions=-1`, refused in turn).
 */
export function usageMessage(
  command: string,
  error: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
  ints: Readonly<Record<string, IntRange>> = {},
): string {
  const message = error instanceof Error ? error.message : String(error);
  const help = `run "troupe ${command} --help" for its options`;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1];
    if (option !== undefined)
      return `Expected an option of \`troupe ${command}\`, got \`${option}\`; ${help}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // An option with a short alias is named by both: "Option '-f, --format <value>' argument missing".
    const missing = /^Option '(?:-[^-' ], )?(-[^' ]+)(?: <value>)?' argument missing/.exec(message)?.[1];
    if (missing !== undefined) return `Expected a value after \`${missing}\`, got none; ${help}`;
    const ambiguous = /^Option '(?:-[^-' ], )?(-[^']+)' argument is ambiguous/.exec(message)?.[1];
    if (ambiguous !== undefined) {
      const name = ambiguous.replace(/^--/, '');
      // An integer option takes no value starting with "-": its example is its default.
      if (Object.hasOwn(ints, name)) {
        const range = ints[name] as IntRange;
        return `Expected an integer from ${range.min} to ${range.max} after \`${ambiguous}\`, got another option or a value starting with "-" (e.g. \`${ambiguous} ${range.fallback}\`); ${help}`;
      }
      // Not `=-1` as the example: for most options (`serve --port`, `ask --max-tokens`) that is refused in turn.
      return `Expected a value after \`${ambiguous}\`, got another option (a value that starts with "-" is written \`${ambiguous}=<value>\`); ${help}`;
    }
    const flag = /^Option '(?:-[^-' ], )?(-[^']+)' does not take an argument/.exec(message)?.[1];
    if (flag !== undefined)
      return `Expected \`${flag}\` alone (it takes no value), got \`${flag}=...\`; ${help}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const argument = /'([^']*)'/.exec(message)?.[1];
    if (argument === undefined) return message;
    // `npm start --port 7802` hands `--port` to npm and `7802` to troupe (the README's warning).
    const npm =
      env.npm_lifecycle_event === 'start'
        ? `; through npm, troupe's options go after \`--\`: \`npm start -- --port ${argument}\``
        : '';
    return `Expected only options, got the argument \`${argument}\`${npm}; ${help}`;
  }
  return message;
}
