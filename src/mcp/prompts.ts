/**
 * Prompts a host offers as slash commands. Each one writes the request for the host's model to
 * carry out with troupe's tools, so the call runs as a session with its limits and metadata:
 *
 * - `second_opinion`: ask another model (chosen with completions) about a question or a draft;
 * - `review`: a multi-model review of code or text through `consensus`.
 */
import { completable, type GetPromptResult, type McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { completeModel, completeModelList, completeProvider, MAX_TYPED_LIST } from './completions.js';
import { type McpContext, perContext } from './context.js';
import type { ToolName } from './tool.js';

/**
 * The prompts' argument schemas, built once per context: the completions they carry read only the
 * context. A server is built per request on the 2026-07-28 HTTP path, and building these two there
 * took about 235 µs of the 360 µs a server took (2026-12-06, `npm run bench -- mcp`).
 */
const schemasOf = perContext(promptSchemas);

function promptSchemas(mcp: McpContext) {
  return {
    secondOpinion: z.object({
      question: z.string().describe('What the other model should weigh in on.'),
      // `completable` inside `optional`: the SDK unwraps the optional before it looks for a completer.
      provider: completable(z.string(), (typed) => completeProvider(mcp, typed))
        .optional()
        .describe('Provider name (see troupe://models).'),
      model: completable(z.string(), (typed, context) =>
        completeModel(mcp, typed, context?.arguments?.provider),
      )
        .optional()
        .describe('Model id; completions follow the chosen provider.'),
    }),
    review: z.object({
      content: z.string().describe('The code, diff or text to review.'),
      // As its completion is bounded: each entry is written out as JSON in the text, so a 4 MB
      // list of `a,` came back as 42 MB and held the event loop for about 4.5 s (an audit).
      models: completable(z.string().max(MAX_TYPED_LIST), (typed) => completeModelList(mcp, typed))
        .optional()
        .describe('Models to ask, comma separated, each provider/model (e.g. "kimi/kimi-k2, glm/glm-4.6").'),
      focus: z.string().optional().describe('What to look for (bugs, security, style...).'),
    }),
  };
}

/**
 * Each prompt asks for one of troupe's tools: it is offered only beside that tool (`tools`), and
 * names it as it is registered (`prefix`, `registerTools`' option: with `troupe_` the host's model
 * is told to call `troupe_chat`, the tool it has; until 2026-12-06 it was told `chat`).
 */
export function installPrompts(
  server: McpServer,
  mcp: McpContext,
  tools?: readonly ToolName[],
  prefix = '',
): void {
  const schemas = schemasOf(mcp);
  if (tools === undefined || tools.includes('chat'))
    secondOpinion(server, schemas.secondOpinion, `${prefix}chat`);
  if (tools === undefined || tools.includes('consensus'))
    review(server, schemas.review, `${prefix}consensus`);
}

type Schemas = ReturnType<typeof promptSchemas>;

function secondOpinion(server: McpServer, argsSchema: Schemas['secondOpinion'], tool: string): void {
  server.registerPrompt(
    'second_opinion',
    {
      title: 'Second opinion from another model',
      description:
        'Asks another model (through troupe’s chat tool) what it thinks of a question, an answer or a plan.',
      argsSchema,
    },
    ({ question, provider, model }): GetPromptResult => {
      const target = [provider && `provider "${provider}"`, model && `model "${model}"`]
        .filter(Boolean)
        .join(' and ');
      return userMessage(
        'A second opinion from another model',
        `Get a second opinion: call troupe's \`${tool}\` tool with the prompt below${target ? ` (${target})` : ''}, ` +
          `then tell me where its answer agrees or disagrees with yours, and why.\n\n---\n${question}`,
      );
    },
  );
}

function review(server: McpServer, argsSchema: Schemas['review'], tool: string): void {
  server.registerPrompt(
    'review',
    {
      title: 'Multi-model review',
      description:
        'Has several models review code or text at once (troupe’s consensus tool) and merges their findings.',
      argsSchema,
    },
    ({ content, models, focus }): GetPromptResult => {
      const targets = (models ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '')
        .map((entry) => {
          const slash = entry.indexOf('/');
          return slash < 0
            ? { provider: entry }
            : { provider: entry.slice(0, slash), model: entry.slice(slash + 1) };
        });
      const which =
        targets.length > 0
          ? `with \`models\` set to ${JSON.stringify(targets)}`
          : 'with two or three different models from troupe://models';
      return userMessage(
        'A review by several models',
        `Review the content below with troupe's \`${tool}\` tool ${which}. Ask each model for a review` +
          `${focus ? ` focused on ${focus}` : ''}: concrete problems with where they are and how to fix them. ` +
          'Then merge the answers: findings several models share first, then the rest, each with who found it.' +
          `\n\n---\n${content}`,
      );
    },
  );
}

function userMessage(description: string, text: string): GetPromptResult {
  return { description, messages: [{ role: 'user', content: { type: 'text', text } }] };
}
