/**
 * Resources, subscriptions, prompts, completions and logging, as one scenario any connected SDK
 * client runs against a troupe server whose providers include `fast` and `slow` (simulated; `slow`
 * takes 1.5 s). Shared by the HTTP tests (both eras) and the stdio test (built CLI).
 */
import { type Client, LOG_LEVEL_META_KEY } from '@modelcontextprotocol/client';
import { expect } from 'vitest';

export type Era = 'legacy' | 'modern';

/** What the server under test serves: a provider name, one of its models, and a slow call's arguments. */
export interface Target {
  readonly provider: string;
  readonly model: string;
  readonly slowCall: Record<string, unknown>;
}

export const HARNESS_TARGET: Target = {
  provider: 'fast',
  model: 'sim-fast',
  // Live through the client's four round trips before it reads the session, on a loaded machine too:
  // at the `slow` provider's 1.5 s a fresh clone's `npm test` once read it `done` (2026-12-06).
  slowCall: { prompt: 'take your time', provider: 'slow', extra: { simulateLatencyMs: 4000 } },
};

function textOf(result: { contents: readonly object[] }): string {
  return result.contents.map((c) => ('text' in c ? String(c.text) : '')).join('');
}

export async function checkStaticResources(client: Client, target: Target): Promise<void> {
  const resources = (await client.listResources()).resources.map((r) => r.uri);
  expect(resources).toEqual(
    expect.arrayContaining([
      'troupe://sessions',
      'troupe://models',
      'troupe://charts/session',
      'troupe://charts/supervisor',
    ]),
  );
  const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
  expect(templates).toEqual(expect.arrayContaining(['troupe://sessions/{id}', 'troupe://charts/{machine}']));

  const models = JSON.parse(textOf(await client.readResource({ uri: 'troupe://models' })));
  expect(models.providers.map((p: { name: string }) => p.name)).toEqual(
    expect.arrayContaining([target.provider]),
  );
  const chart = textOf(await client.readResource({ uri: 'troupe://charts/session' }));
  expect(chart).toMatch(/^stateDiagram-v2/);
  expect(chart).toContain('queued');
  await expect(client.readResource({ uri: 'troupe://charts/nope' })).rejects.toThrow(/chart name/);
  await expect(client.readResource({ uri: 'troupe://sessions/no-such-session' })).rejects.toThrow(
    /session id/,
  );
}

/** Starts a slow chat, finds its session, subscribes to it, and expects updates until it ends. */
export async function checkSessionSubscription(client: Client, era: Era, target: Target): Promise<void> {
  const updated: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (notification) => {
    updated.push(notification.params.uri);
  });
  const call = client.callTool({ name: 'chat', arguments: target.slowCall });
  let sessionId: string | undefined;
  for (let i = 0; i < 100 && sessionId === undefined; i++) {
    const view = JSON.parse(textOf(await client.readResource({ uri: 'troupe://sessions' })));
    sessionId = [...view.queued, ...view.running][0]?.sessionId;
    if (sessionId === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  expect(sessionId, 'the slow chat shows in troupe://sessions').toBeDefined();
  const uri = `troupe://sessions/${sessionId}`;
  const listed = (await client.listResources()).resources.map((r) => r.uri);
  expect(listed).toContain(uri);
  const completed = await client.complete({
    ref: { type: 'ref/resource', uri: 'troupe://sessions/{id}' },
    argument: { name: 'id', value: String(sessionId).slice(0, 4) },
  });
  expect(completed.completion.values).toContain(sessionId);

  const subscription =
    era === 'modern'
      ? await client.listen({ resourceSubscriptions: [uri] })
      : await client.subscribeResource({ uri }).then(() => undefined);
  try {
    const live = JSON.parse(textOf(await client.readResource({ uri })));
    expect(live.session.sessionId).toBe(sessionId);
    expect(['queued', 'running']).toContain(live.session.state);
    await call;
    for (let i = 0; i < 100 && !updated.includes(uri); i++) await new Promise((r) => setTimeout(r, 20));
    expect(updated, 'an update for the subscribed session').toContain(uri);
    // Only what was subscribed to: the sessions list changed too, but nobody asked for it.
    expect(updated.every((u) => u === uri)).toBe(true);
    const ended = JSON.parse(textOf(await client.readResource({ uri })));
    expect(ended.session.state).toBe('done');
  } finally {
    await subscription?.close();
  }
}

export async function checkPromptsAndCompletions(client: Client, target: Target): Promise<void> {
  const prompts = (await client.listPrompts()).prompts;
  expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['second_opinion', 'review']));
  const second = prompts.find((p) => p.name === 'second_opinion');
  expect(second?.arguments?.map((a) => [a.name, a.required])).toEqual([
    ['question', true],
    ['provider', false],
    ['model', false],
  ]);

  const providers = await client.complete({
    ref: { type: 'ref/prompt', name: 'second_opinion' },
    argument: { name: 'provider', value: target.provider.slice(0, 2) },
  });
  expect(providers.completion.values).toEqual([target.provider]);
  const models = await client.complete({
    ref: { type: 'ref/prompt', name: 'second_opinion' },
    argument: { name: 'model', value: 'sim-' },
    context: { arguments: { provider: target.provider } },
  });
  expect(models.completion.values.length).toBeGreaterThan(0);
  expect(models.completion.values.every((v) => v.startsWith('sim-'))).toBe(true);
  const list = await client.complete({
    ref: { type: 'ref/prompt', name: 'review' },
    argument: { name: 'models', value: `${target.provider}/${target.model}, ${target.provider.slice(0, 2)}` },
  });
  expect(list.completion.values.length).toBeGreaterThan(0);
  expect(list.completion.values).toContain(
    `${target.provider}/${target.model}, ${target.provider}/${target.model}`,
  );
  expect(
    list.completion.values.every((v) =>
      v.startsWith(`${target.provider}/${target.model}, ${target.provider}/`),
    ),
  ).toBe(true);
  const charts = await client.complete({
    ref: { type: 'ref/resource', uri: 'troupe://charts/{machine}' },
    argument: { name: 'machine', value: 'su' },
  });
  expect(charts.completion.values).toEqual(['supervisor']);

  const got = await client.getPrompt({
    name: 'second_opinion',
    arguments: { question: 'Is 0.1 + 0.2 === 0.3 in JS?', provider: 'slow' },
  });
  const message = got.messages[0]?.content;
  expect(message?.type).toBe('text');
  const text = (message as { text: string }).text;
  expect(text).toContain('`chat`');
  expect(text).toContain('call troupe\'s `chat` tool with the prompt below (provider "slow"), then');
  const plain = await client.getPrompt({ name: 'second_opinion', arguments: { question: 'Why?' } });
  const plainMessage = plain.messages[0]?.content;
  expect(plainMessage?.type).toBe('text');
  expect((plainMessage as { text: string }).text).toMatch(
    /^Get a second opinion: call troupe's `chat` tool with the prompt below, then tell me where/,
  );
  expect(text).toContain('Is 0.1 + 0.2 === 0.3 in JS?');
  const review = await client.getPrompt({
    name: 'review',
    arguments: { content: 'let x = 1', models: 'fast/sim-fast, slow' },
  });
  const reviewMessage = review.messages[0]?.content;
  expect(reviewMessage?.type).toBe('text');
  const reviewText = (reviewMessage as { text: string }).text;
  expect(reviewText).toContain('`consensus`');
  expect(reviewText).toContain(
    JSON.stringify([{ provider: 'fast', model: 'sim-fast' }, { provider: 'slow' }]),
  );
  await expect(client.getPrompt({ name: 'second_opinion', arguments: {} })).rejects.toThrow(/question/);
}

/** Retries reach the client as `notifications/message` warnings, only at a level that lets them through. */
export async function checkRetryLogging(client: Client, era: Era, target: Target): Promise<void> {
  const messages: { level: string; data: Record<string, unknown> }[] = [];
  client.setNotificationHandler('notifications/message', (notification) => {
    messages.push(notification.params as (typeof messages)[number]);
  });
  const failing = (level: 'warning' | 'error') => ({
    name: 'chat',
    arguments: { prompt: 'fail', provider: target.provider, extra: { simulate: 'rate_limited' } },
    ...(era === 'modern' ? { _meta: { [LOG_LEVEL_META_KEY]: level } } : {}),
  });
  if (era === 'legacy') await client.setLoggingLevel('warning');
  const failed = await client.callTool(failing('warning'));
  expect(failed.isError).toBe(true);
  const retries = messages.filter((m) => m.data.code === 'RATE_LIMITED');
  expect(retries.length, 'one warning per retry').toBeGreaterThanOrEqual(1);
  expect(retries[0]).toMatchObject({ level: 'warning', data: { attempt: 2 } });
  expect(String(retries[0]?.data.message)).toMatch(/retrying in \d+ ms as attempt 2/);

  messages.length = 0;
  if (era === 'legacy') await client.setLoggingLevel('error');
  await client.callTool(failing('error'));
  expect(messages, 'nothing below the level asked for').toEqual([]);
}
