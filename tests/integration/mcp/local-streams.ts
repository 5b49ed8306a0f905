/**
 * A harness whose one provider, `local`, is the local OpenAI-compatible server answering every call
 * with `ANSWER`, for long streaming calls: the model name picks the fault (`fault:ok:chunk-ms=50`
 * streams it over 5 s; see `src/testing/faults.ts`), and a `tag=` in it finds the provider request.
 */
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import {
  createOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
} from '../../../src/testing/openai-server.js';
import { type Harness, type HarnessOptions, startHarness } from './harness.js';

/** 100 pieces of 4 characters: the local server streams 4 characters a chunk. */
export const ANSWER = `${Array.from({ length: 100 }, (_, i) => String(i).padStart(3, '0')).join(' ')} `;

export interface LocalStreams {
  readonly server: OpenAIServer;
  readonly h: Harness;
  close(): Promise<void>;
}

export async function startLocalStreams(options: Omit<HarnessOptions, 'providers'>): Promise<LocalStreams> {
  const server = createOpenAIServer({ respond: () => ({ content: ANSWER }) });
  const baseURL = await server.start();
  const h = await startHarness({
    ...options,
    providers: [createOpenAICompatibleProvider({ name: 'local', baseURL, apiKey: 'test-key' })],
  });
  return {
    server,
    h,
    async close() {
      await h.close();
      await server.close();
    },
  };
}

/** Matches the provider request whose model carries `tag=<tag>`. */
export const tagged = (tag: string) => (r: RecordedRequest) => JSON.stringify(r.body).includes(`tag=${tag}`);

/** Reads `response`'s body until what came matches `enough`; returns what came. */
export async function readUntil(response: Response, enough: (wire: string) => boolean): Promise<string> {
  const reader = response.body!.getReader();
  let wire = '';
  while (!enough(wire)) wire += new TextDecoder().decode((await reader.read()).value);
  return wire;
}
