/**
 * `troupe ask`: one call through the runtime, as a user would make it. Text streams to stdout,
 * metadata goes to stderr at the end; `--json` prints one object instead. Every failure is one
 * line on stderr and a non-zero exit, never a stack trace.
 */
import { parseArgs } from 'node:util';
import { TroupeError, toTroupeError } from '../core/errors.js';
import { checkedKey } from '../providers/api-key.js';
import { type LoadedProviders, loadProviders } from '../providers/config.js';
import { createOpenAICompatibleProvider } from '../providers/openai-compatible.js';
import type { ChatProvider } from '../providers/port.js';
import { createModelRegistry, type Resolved } from '../providers/registry.js';
import { createRuntime } from '../runtime/runtime.js';
import type { SessionRequest, SessionResult } from '../runtime/types.js';
import { type ResolvedConfig, readFileSection, resolveConfig, runtimeOptionsFrom } from './config.js';
import { ConfigError, parseIntFlag } from './config-values.js';
import { hintFor } from './hints.js';
import type { Command } from './main.js';
import { usageMessage } from './usage-error.js';

const USAGE = `Usage: troupe ask [options] "prompt"

Prints the answer's text, and a line of the session's metadata on stderr; a thinking model's
reasoning and tool calls come with --json.

Options:
  --provider NAME   kimi, glm, or another configured one (providers file, TROUPE_OPENAI_*); with no key
                    set, simulated only (default: TROUPE_DEFAULT_PROVIDER, else the first configured
                    one listing TROUPE_DEFAULT_MODEL, else the first configured)
  --base-url URL    an ad-hoc OpenAI-compatible endpoint, with --model (key from TROUPE_API_KEY or OPENAI_API_KEY;
                    named custom, or --provider NAME)
  --model ID        model id (default: the provider's default)
  --stream          stream the answer as it arrives
  --json            print one JSON object { content, reasoning, toolCalls, finishReason, webSearch?, metadata }
  --timeout MS      run deadline in ms (default: TROUPE_TIMEOUT_MS, else the providers file's runtime.timeoutMs,
                    else 120000); the other limits as serve takes them from the environment and the file
  --max-tokens N    most tokens the model may generate (default: the model's; thinking models get a budget)
  --temperature T   sampling temperature (checked against Kimi's and GLM's range for the model)
  --thinking MODE   enabled or disabled, for models with a thinking mode
  --config PATH     providers file (default: TROUPE_PROVIDERS_FILE)
`;

/**
 * Exit codes: 0 done, 1 the call failed, 2 bad usage or configuration; 130 interrupted (SIGINT,
 * Ctrl-C) and 143 terminated (SIGTERM), as a shell reports a process its signal ended, the call
 * cancelled first (until 2026-12-07 both exited 1, and SIGTERM ended it without cancelling).
 */
type Exit = 0 | 1 | 2 | 130 | 143;

const SIGNAL_EXITS = { SIGINT: 130, SIGTERM: 143 } as const;

interface AskArgs {
  readonly prompt: string;
  readonly provider?: string;
  readonly baseURL?: string;
  readonly model?: string;
  readonly stream: boolean;
  readonly json: boolean;
  readonly timeoutMs?: number;
  readonly config?: string;
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly thinking?: 'enabled' | 'disabled';
}

function parse(argv: readonly string[]): AskArgs | 'help' {
  try {
    return parseOrThrow(argv);
  } catch (error) {
    // node:util's parseArgs errors (unknown flag, missing value) are usage errors, not crashes.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
      throw new UsageError(usageMessage('ask', error));
    throw error;
  }
}

function parseOrThrow(argv: readonly string[]): AskArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      provider: { type: 'string' },
      'base-url': { type: 'string' },
      model: { type: 'string' },
      stream: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      thinking: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const prompt = positionals.join(' ').trim();
  if (prompt === '') throw new UsageError('Expected a prompt, got none. Run "troupe ask --help".');
  // As the other commands read theirs (config-values.ts): plain digits in range, the flag named.
  const timeoutMs = intOf('timeout', values.timeout, MAX_MS);
  const maxTokens = intOf('max-tokens', values['max-tokens'], MAX_MS);
  let temperature: number | undefined;
  if (values.temperature !== undefined) {
    const text = values.temperature.trim();
    temperature = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
    if (!(temperature >= 0 && temperature <= 2)) {
      throw new UsageError(
        `Expected \`--temperature\` to be a decimal number from 0 to 2 (the vendor's own range is checked next), got \`${values.temperature}\``,
      );
    }
  }
  const thinking = values.thinking;
  if (thinking !== undefined && thinking !== 'enabled' && thinking !== 'disabled') {
    throw new UsageError(
      `Expected \`--thinking\` to be \`enabled\` or \`disabled\`, got ${JSON.stringify(thinking)}`,
    );
  }
  return {
    prompt,
    stream: values.stream === true,
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(temperature === undefined ? {} : { temperature }),
    ...(thinking === undefined ? {} : { thinking }),
    json: values.json === true,
    ...(values.provider === undefined ? {} : { provider: values.provider }),
    ...(values['base-url'] === undefined ? {} : { baseURL: values['base-url'] }),
    ...(values.model === undefined ? {} : { model: values.model }),
    ...(values.config === undefined ? {} : { config: values.config }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}

class UsageError extends Error {}

/** The largest --timeout (the runtime's, as `serve --timeout-ms`) and --max-tokens. */
const MAX_MS = 2_147_483_647;

function intOf(name: string, raw: string | undefined, max: number): number | undefined {
  if (raw === undefined) return undefined;
  try {
    return parseIntFlag(name, raw, 1, max);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A request the runtime refuses (`INVALID_REQUEST`) was made from the flags: a usage error. */
function exitFor(code: string): Exit {
  return code === 'INVALID_REQUEST' ? 2 : 1;
}

/** An ad-hoc provider for `--base-url`: open to any model id, key from the environment. */
function adHoc(args: AskArgs, env: NodeJS.ProcessEnv): LoadedProviders {
  const baseURL = args.baseURL as string;
  if (!URL.canParse(baseURL))
    throw new UsageError(`Expected \`--base-url\` to be a URL, got ${JSON.stringify(baseURL)}`);
  // `troupe models` cannot list an ad-hoc endpoint's models, so the usual hint would lead nowhere.
  if (args.model === undefined)
    throw new UsageError(
      'Expected `--model ID` with `--base-url` (an ad-hoc endpoint has no default model), got none',
    );
  const variable = env.TROUPE_API_KEY?.trim() ? 'TROUPE_API_KEY' : 'OPENAI_API_KEY';
  const given = env[variable]?.trim();
  if (!given)
    throw new UsageError(
      'Expected an API key for --base-url in TROUPE_API_KEY or OPENAI_API_KEY, got none (an endpoint that takes no key: set either to any value, such as `none`)',
    );
  const apiKey = checkedKey(variable, given);
  const name = args.provider ?? 'custom';
  const provider: ChatProvider = createOpenAICompatibleProvider({ name, baseURL, apiKey });
  const registry = createModelRegistry([{ name, configured: true, models: [] }], { defaultProvider: name });
  return {
    providers: [provider],
    registry,
    perProviderLimits: {},
    providerLimits: {},
    defaults: { provider: name },
    prices: {},
    simulated: false,
    ignored: [],
    close: async () => provider.close?.(),
  };
}

/**
 * The limits `serve` and `stdio` take from the environment (TROUPE_TIMEOUT_MS, TROUPE_MAX_ATTEMPTS,
 * ...) and the providers file's `runtime` section (not read with `--base-url`, which uses no file),
 * with the same defaults where neither sets one. Until 2026-12-07 `ask` checked them and then ran
 * with its own 120 s and 3 attempts. Throws `ConfigError`, as those commands refuse a bad value.
 */
async function configOf(args: AskArgs, env: NodeJS.ProcessEnv): Promise<ResolvedConfig> {
  const file =
    args.baseURL === undefined
      ? await readFileSection(env, args.config ? { path: args.config, setting: '--config' } : {})
      : undefined;
  return resolveConfig({ env, ...(file === undefined ? {} : { file }) });
}

async function run(argv: readonly string[]): Promise<Exit> {
  let loaded: LoadedProviders | undefined;
  let args: AskArgs;
  let config: ResolvedConfig;
  try {
    const parsed = parse(argv);
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    args = parsed;
    config = await configOf(args, process.env);
    loaded =
      args.baseURL !== undefined
        ? adHoc(args, process.env)
        : await loadProviders({ env: process.env, ...(args.config ? { configPath: args.config } : {}) });
  } catch (error) {
    return fail(error, 2);
  }
  let target: Resolved;
  try {
    // Before any network call: an unknown provider or model, or a missing key, fails here.
    target = loaded.registry.resolve(pick(args));
  } catch (error) {
    await loaded.close();
    return fail(error, 2);
  }
  // After the resolve: a default provider with no key is said by its NOT_CONFIGURED line alone.
  for (const x of loaded.ignored) process.stderr.write(`troupe ask: warning: ${x.setting} ${x.why}\n`);
  const { provider, model } = target;

  // Budgets are left out: they count spending across calls, and one call starts a fresh ledger.
  const settings = runtimeOptionsFrom(config, 'one');
  const runtime = createRuntime({
    providers: loaded.providers,
    limits: { ...settings.limits, perProvider: loaded.perProviderLimits, providers: loaded.providerLimits },
    defaults: { ...settings.defaults, ...loaded.defaults },
    ...(settings.breakers === undefined ? {} : { breakers: settings.breakers }),
    router: loaded.registry.router,
    prices: loaded.prices,
  });
  const request: SessionRequest = {
    provider,
    model,
    stream: args.stream,
    messages: [{ role: 'user', content: args.prompt }],
    ...(args.maxTokens === undefined ? {} : { max_tokens: args.maxTokens }),
    ...(args.temperature === undefined ? {} : { temperature: args.temperature }),
    ...(args.thinking === undefined ? {} : { thinking: args.thinking }),
  };
  const interrupt = new AbortController();
  let signalled: keyof typeof SIGNAL_EXITS | undefined;
  const onSignal = (signal: keyof typeof SIGNAL_EXITS) => {
    signalled ??= signal;
    interrupt.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // The call's own exit, or the signal's once one cancelled it (its CANCELLED line still printed).
  const exit = (code: Exit): Exit => (signalled === undefined ? code : SIGNAL_EXITS[signalled]);
  try {
    const handle = runtime.submit(request, {
      signal: interrupt.signal,
      label: 'cli.ask',
      ...(args.timeoutMs === undefined ? {} : { timeoutMs: args.timeoutMs }),
    });
    let streamed = false;
    if (args.stream && !args.json) {
      for await (const event of handle.events) {
        if (event.type === 'session.delta' && event.delta.type === 'content') {
          process.stdout.write(event.delta.text);
          streamed = true;
        }
      }
    }
    const result = await handle.result;
    return exit(report(result, args, streamed));
  } catch (error) {
    return exit(fail(error, exitFor(toTroupeError(error).code)));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await runtime.shutdown({ deadlineMs: 1000 }).catch(() => undefined);
    await loaded.close();
  }
}

function pick(args: AskArgs): { provider?: string; model?: string } {
  return {
    ...(args.provider === undefined ? {} : { provider: args.provider }),
    ...(args.model === undefined ? {} : { model: args.model }),
  };
}

function report(result: SessionResult, args: AskArgs, streamed: boolean): Exit {
  if (args.json) {
    const body = result.ok
      ? {
          content: result.content,
          reasoning: result.reasoning ?? null,
          toolCalls: result.toolCalls ?? [],
          finishReason: result.finishReason ?? null,
          ...(result.webSearch === undefined ? {} : { webSearch: result.webSearch }),
          metadata: result.metadata,
        }
      : {
          content: null,
          reasoning: null,
          toolCalls: [],
          metadata: result.metadata,
          error: result.error,
          ...(result.partial === undefined ? {} : { partial: result.partial }),
          ...(result.withdrawn === undefined ? {} : { withdrawn: result.withdrawn }),
        };
    process.stdout.write(`${JSON.stringify(body)}\n`);
    return result.ok ? 0 : exitFor(result.error.code);
  }
  if (!result.ok) {
    // The answer streamed so far is on stdout: end its line, and say it is not whole.
    if (streamed) process.stdout.write('\n');
    if (streamed && result.partial !== undefined)
      process.stderr.write('troupe ask: the answer above was cut short: it is not whole\n');
    // Until 2026-12-07 the text stood there as if it were the start of an answer.
    if (streamed && result.withdrawn === true)
      process.stderr.write(
        "troupe ask: the text above is withdrawn: the provider's safety review stopped the answer, so it is not one\n",
      );
    process.stderr.write(
      `troupe ask: ${result.error.code}: ${oneLine(result.error.message)}${hintFor(result.error.code, args.baseURL !== undefined, result.error.status)}\n`,
    );
    return exitFor(result.error.code);
  }
  if (!streamed) process.stdout.write(result.content);
  process.stdout.write('\n');
  const m = result.metadata;
  const usage = m.usage === undefined ? '' : ` tokens=${m.usage.promptTokens}+${m.usage.completionTokens}`;
  const finish = result.finishReason === undefined ? '' : ` finish=${result.finishReason}`;
  const cost = m.cost === undefined ? '' : ` cost=${m.cost.amount} ${m.cost.currency}`;
  if (result.finishReason === 'length') {
    process.stderr.write(
      result.content === ''
        ? 'troupe ask: warning: the model reached its token limit before writing any answer (finish_reason `length`); raise --max-tokens or use --thinking disabled\n'
        : 'troupe ask: warning: the answer was cut at the token limit (finish_reason `length`); raise --max-tokens\n',
    );
  }
  if (result.finishReason === 'model_context_window_exceeded') {
    // GLM (docs.z.ai chat-completion reference): prompt plus answer reached the model's window.
    process.stderr.write(
      "troupe ask: warning: the answer was cut where prompt plus answer filled the model's context window (finish_reason `model_context_window_exceeded`); shorten the prompt\n",
    );
  }
  if (result.finishReason === 'content_filter') {
    process.stderr.write(
      "troupe ask: warning: the provider's content filter stopped the answer (finish_reason `content_filter`); it may be incomplete\n",
    );
  }
  for (const note of m.notes ?? []) process.stderr.write(`troupe ask: note: ${note}\n`);
  for (const found of result.webSearch ?? []) {
    const title = typeof found.title === 'string' ? found.title : '(untitled)';
    const link = typeof found.link === 'string' ? ` <${found.link}>` : '';
    process.stderr.write(`troupe ask: web search: ${title}${link}\n`);
  }
  process.stderr.write(
    `[${m.state}] provider=${m.provider} model=${m.model} attempts=${m.attempts} totalMs=${Math.round(m.totalMs)}${usage}${cost}${finish} session=${m.sessionId}\n`,
  );
  return 0;
}

function fail(error: unknown, exit: Exit): Exit {
  const message =
    error instanceof UsageError || error instanceof ConfigError
      ? error.message
      : error instanceof TroupeError
        ? `${error.code}: ${error.message}${hintFor(error.code)}`
        : (() => {
            const converted = toTroupeError(error);
            return `${converted.code}: ${converted.message}${hintFor(converted.code)}`;
          })();
  process.stderr.write(`troupe ask: ${oneLine(message)}\n`);
  return exit;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export const command: Command = {
  summary:
    'One call through the runtime: troupe ask [--provider P] [--model M] [--max-tokens N] [--temperature T] [--thinking MODE] [--stream] [--json] "prompt"',
  run,
};
