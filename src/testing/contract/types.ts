/**
 * The provider contract's vocabulary: its named properties, the capabilities an adapter opts into,
 * the options of `checkProviderContract`, and the error it throws.
 */
import { ContractBroken, type PropertyFailure } from '../broken.js';
import type { OpenAIServer } from '../openai-server.js';

/** One name per behaviour, as LangChain's standard tests have one test per behaviour. */
export type ContractPropertyName =
  | 'signalHonoured'
  | 'streamContract'
  | 'resultShape'
  | 'requestUntouched'
  | 'requestSent'
  | 'isolation'
  | 'errorsMapped'
  | 'capabilities';

export const CONTRACT_PROPERTIES: readonly ContractPropertyName[] = [
  'signalHonoured',
  'streamContract',
  'resultShape',
  'requestUntouched',
  'requestSent',
  'isolation',
  'errorsMapped',
  'capabilities',
];

/** What the adapter says it supports; it is held to exactly these. */
export interface ContractCapabilities {
  /** `stream()` yields deltas as they come. @default true */
  readonly streaming?: boolean;
  /** `tools` reach the server; tool calls come back whole and as fragments. @default false */
  readonly tools?: boolean;
  /** `files` reach the model (inlined or uploaded, and uploads deleted after the call). @default false */
  readonly files?: boolean;
  /** `reasoning_content` comes back as `reasoning` and as `reasoning` deltas. @default false */
  readonly thinking?: boolean;
}

export interface ContractOptions {
  /**
   * A started `createOpenAIServer()` that the provider points at. With it the suite scripts answers
   * and faults (through the model name, so the adapter must send `request.model` as it is) and
   * watches the wire. Without it, only what needs no server is checked (see `docs/testing.md`).
   * While the suite runs it owns the server's responder, and resets it to the default afterwards.
   */
  readonly server?: OpenAIServer;
  /** The model asked for answers that are not faults. @default 'contract-model' */
  readonly model?: string;
  /** Runs per property. @default 20, or TROUPE_CONTRACT_RUNS */
  readonly numRuns?: number;
  /** Replays a failure: the error prints the seed. @default random */
  readonly seed?: number;
  readonly capabilities?: ContractCapabilities;
  /** The key the adapter sends: no error text or note may carry it. @default any `Bearer` credential is looked for */
  readonly apiKey?: string;
  /**
   * What the adapter has logged so far, read after each case: no entry may carry the API key, as
   * no error text or note may. Give your adapter a logger that keeps what it is given and pass its
   * entries here (`createLogCapture()` makes one: `logged: () => capture.entries`). What the
   * adapter writes with `console` during a case is read whether or not this is given.
   * @default none (only the console is read)
   */
  readonly logged?: () => readonly unknown[];
  /** How soon after an abort the call must settle and its HTTP request close, in ms. @default 100 */
  readonly abortWithinMs?: number;
  /**
   * Finish reasons the adapter fails the call on, as its vendor's word for a failed answer (the
   * Kimi preset's `content_filter`): answers meant to end normally are drawn without them.
   * @default none
   */
  readonly failingFinishReasons?: readonly string[];
  /** Only these properties. @default all */
  readonly only?: readonly ContractPropertyName[];
  /**
   * With `seed` and `only` naming one property: the `path` a failure printed for that property;
   * the run starts at that shrunk case (as `fc.assert`'s `path` does). @default none
   */
  readonly path?: string;
}

export type ContractFailure = PropertyFailure<ContractPropertyName>;

export interface ContractReport {
  readonly provider: string;
  readonly seed: number;
  readonly numRuns: number;
  /** Properties checked, with how long each took. */
  readonly checked: readonly { readonly property: ContractPropertyName; readonly ms: number }[];
  /** Properties left out and why (no server, capability not declared). */
  readonly skipped: readonly { readonly property: ContractPropertyName; readonly reason: string }[];
  readonly failures: readonly ContractFailure[];
}

/** Thrown by `checkProviderContract` when a property breaks; `failures` names each one. */
export class ProviderContractError extends ContractBroken<ContractPropertyName, ContractReport> {
  constructor(report: ContractReport) {
    super(`Provider contract broken by "${report.provider}"`, report, { path: true });
    this.name = 'ProviderContractError';
  }
}
