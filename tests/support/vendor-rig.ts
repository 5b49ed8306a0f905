/**
 * A runtime on the Kimi or GLM preset, loaded from the environment as a user would, against the
 * local server in that vendor's mode: what the vendor test files share. `useVendorRigs` closes
 * every rig it made after each test.
 */
import { afterEach } from 'vitest';
import { type LoadedProviders, loadProviders } from '../../src/providers/config.js';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Limits, Runtime, SessionRequest, SessionResult } from '../../src/runtime/types.js';
import {
  createOpenAIServer,
  type OpenAIServer,
  type OpenAIServerOptions,
} from '../../src/testing/openai-server.js';
import type { VendorMode } from '../../src/testing/vendor-modes.js';
import { tempDir } from './temp-dir.js';

export interface VendorRig {
  server: OpenAIServer;
  loaded: LoadedProviders;
  runtime: Runtime;
}

export interface VendorRigOptions {
  /** The server's catalogue: other models get the vendor's answer for an unknown one. */
  readonly models?: string[];
  /** What the server's Kimi-mode `GET /v1/models` says of each model (`modelInfo`). */
  readonly modelInfo?: OpenAIServerOptions['modelInfo'];
  /** A providers file, written to a temporary directory. */
  readonly file?: Record<string, unknown>;
  readonly maxAttempts?: number;
  /** More environment, beside the vendor's key and base URL, given the server's base URL. */
  readonly env?: (baseURL: string) => Readonly<Record<string, string>>;
  /** The server's answer to every call (its default otherwise). */
  readonly respond?: OpenAIServerOptions['respond'];
  /** Limits in the vendor's own units (`limits.providers`). */
  readonly providerLimits?: Limits['providers'];
  /** The runtime's backend (in memory otherwise); the rig waits until it is ready. */
  readonly backend?: RuntimeBackend;
}

/** Starts rigs with `key`; each one is closed after the test that made it. */
export function useVendorRigs(
  key: string,
): (vendor: VendorMode, options?: VendorRigOptions) => Promise<VendorRig> {
  const rigs: VendorRig[] = [];
  afterEach(async () => {
    for (const r of rigs.splice(0)) {
      await r.runtime.shutdown({ deadlineMs: 100 });
      await r.loaded.close();
      await r.server.close();
    }
  });
  return async (vendor, options = {}) => {
    const made = await startRig(vendor, key, options);
    rigs.push(made);
    return made;
  };
}

async function startRig(vendor: VendorMode, key: string, options: VendorRigOptions): Promise<VendorRig> {
  const server = createOpenAIServer({
    apiKey: key,
    vendor,
    ...(options.models ? { models: options.models } : {}),
    ...(options.modelInfo ? { modelInfo: options.modelInfo } : {}),
    ...(options.respond ? { respond: options.respond } : {}),
  });
  await server.start();
  const env: Record<string, string> = {
    ...(vendor === 'kimi'
      ? { MOONSHOT_API_KEY: key, KIMI_BASE_URL: server.baseURL }
      : { GLM_API_KEY: key, ZAI_BASE_URL: server.baseURL }),
    ...options.env?.(server.baseURL),
  };
  let configPath: string | undefined;
  if (options.file !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const dir = tempDir('troupe-vendors-');
    configPath = join(dir, 'providers.json');
    await writeFile(configPath, JSON.stringify(options.file));
  }
  const loaded = await loadProviders({ env, ...(configPath ? { configPath } : {}) }).catch(async (error) => {
    await server.close();
    throw error;
  });
  const runtime = createRuntime({
    providers: loaded.providers,
    router: loaded.registry.router,
    limits: {
      perProvider: loaded.perProviderLimits,
      ...(options.providerLimits ? { providers: options.providerLimits } : {}),
    },
    defaults: { maxAttempts: options.maxAttempts ?? 1, backoffBaseMs: 5, backoffMaxMs: 20 },
    ...(options.backend ? { backend: options.backend } : {}),
  });
  await (runtime as { ready?: Promise<void> }).ready;
  return { server, loaded, runtime };
}

export async function run(r: VendorRig, request: SessionRequest): Promise<SessionResult> {
  return (await r.runtime.submit(request).result) as SessionResult;
}

/** The bodies of the chat completions the server got, in order. */
export const chatBodies = (r: VendorRig) =>
  r.server.requests
    .filter((q) => q.path === '/v1/chat/completions')
    .map((q) => q.body as Record<string, unknown>);
