/**
 * `list_models`: providers, their models and context windows, and whether each is configured.
 */
import * as z from 'zod';
import { outcomeFields } from '../schemas.js';
import type { TroupeTool } from '../tool.js';

const input = z.strictObject({
  refresh: z
    .boolean()
    .optional()
    .describe(
      'Also ask each configured provider for its live model list (GET /models, cached for 10 minutes).',
    ),
});

const output = z.object({
  ...outcomeFields,
  providers: z.array(
    z.object({
      name: z.string(),
      configured: z.boolean(),
      models: z.array(
        z.object({
          id: z.string(),
          context_window: z.number().optional().describe("The catalogue's window, in tokens."),
          learned_window: z
            .object({
              tokens: z.number(),
              learned_at: z.string().describe('When it was learned (ISO 8601, UTC).'),
              stated: z.string().describe("The vendor's words that stated it."),
            })
            .optional()
            .describe(
              "A smaller window this server learned from the vendor's refusal of a call for its length: " +
                'calls to the model are checked against it, not context_window, until the server restarts.',
            ),
        }),
      ),
    }),
  ),
  defaults: z.object({ provider: z.string().optional(), model: z.string().optional() }),
  simulated: z.boolean().describe('True when no provider key is set and the simulated provider answers.'),
});

export const listModelsTool: TroupeTool<typeof input, typeof output> = {
  name: 'list_models',
  title: 'List models',
  description:
    'Lists the providers this server knows, their models with context windows, whether each provider is ' +
    'configured (has an API key), and the default provider and model.',
  input,
  output,
  longRunning: false,
  readOnly: true,
  async run(args, mcp, call) {
    const refreshNotes: string[] = [];
    if (args.refresh === true && mcp.catalog.refresh !== undefined) {
      for (const p of mcp.catalog.list().filter((entry) => entry.configured)) {
        try {
          await mcp.catalog.refresh(p.name, {
            signal: AbortSignal.any([call.signal, AbortSignal.timeout(30_000)]),
          });
        } catch (error) {
          const { code, message } = error as { code?: string; message?: string };
          refreshNotes.push(`${p.name}: could not refresh (${code ?? 'ERROR'}: ${message ?? 'unknown'})`);
        }
      }
    }
    const providers = mcp.catalog.list().map((p) => ({
      name: p.name,
      configured: p.configured,
      models: p.models.map((m) => ({
        id: m.id,
        ...(m.contextWindow === undefined ? {} : { context_window: m.contextWindow }),
        ...(m.learnedWindow === undefined
          ? {}
          : {
              learned_window: {
                tokens: m.learnedWindow.tokens,
                learned_at: new Date(m.learnedWindow.learnedAt).toISOString(),
                stated: m.learnedWindow.stated,
              },
            }),
      })),
    }));
    const { defaults, simulated } = mcp.catalog;
    const lines = providers.map(
      (p) =>
        `${p.name} (${p.configured ? 'configured' : 'not configured'}): ${
          p.models.length === 0 ? 'no models listed' : p.models.map(modelLine).join(', ')
        }`,
    );
    const header = simulated ? 'No provider key is set: the simulated provider answers every call.\n' : '';
    const footer = `\nDefault: ${defaults.provider ?? '(first provider)'}/${defaults.model ?? '(provider default)'}`;
    return {
      structured: { ok: true, providers, defaults: { ...defaults }, simulated },
      text: `${header}${lines.join('\n')}${footer}${refreshNotes.length === 0 ? '' : `\n${refreshNotes.join('\n')}`}`,
    };
  },
};

/** One model in the text: its id, the catalogue's window, and a learned one routing uses instead. */
function modelLine(m: {
  readonly id: string;
  readonly context_window?: number;
  readonly learned_window?: { readonly tokens: number; readonly learned_at: string; readonly stated: string };
}): string {
  const windows = [
    ...(m.context_window ? [`${m.context_window} tokens`] : []),
    ...(m.learned_window === undefined
      ? []
      : [
          `learned ${m.learned_window.tokens} at ${m.learned_window.learned_at} from the vendor's refusal "${m.learned_window.stated}", checked instead`,
        ]),
  ];
  return windows.length === 0 ? m.id : `${m.id} [${windows.join('; ')}]`;
}
