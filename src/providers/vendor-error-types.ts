/**
 * The shape of the vendor error tables (`vendor-errors.ts`): a row's match (status, Moonshot's
 * `type`, Zhipu/Z.ai's business `code`, wording), troupe's code and where its retry hint comes from.
 * Types only, kept apart so the tables' file stays under 400 lines.
 */
import type { ProviderErrorCode } from '../core/errors.js';

/** Where a retry (or reset) hint comes from for a row. */
export type HintSource =
  /** `Retry-After` and friends only. */
  | 'header'
  /** The header, else "try again after N seconds" in the message (Moonshot). */
  | 'header-or-body-seconds'
  /** The reset time in the message, e.g. "Your limit will reset at 2026-09-10 04:24:36" (GLM 1308). */
  | 'body-reset-time'
  | 'none';

export interface VendorErrorRow {
  /** Stable name, used by tests and docs, e.g. `kimi.quota`. */
  readonly id: string;
  /** The HTTP status the vendor documents; `any` matches every status (and stream errors). */
  readonly status: number | 'any';
  /** Moonshot's `error.type`. */
  readonly type?: string;
  /** Zhipu/Z.ai's business `error.code`, as a string. */
  readonly codes?: readonly string[];
  /** Wording the message must contain (case-insensitive). */
  readonly text?: RegExp;
  readonly troupe: ProviderErrorCode;
  readonly hint: HintSource;
  /** What it means, for docs and messages. */
  readonly why: string;
  /** What the user does next, when the vendor's page says it; added to the message. */
  readonly advice?: string;
  /** The vendor says the model alone is overloaded: the error is `modelScoped` (no breaker counts it). */
  readonly modelScoped?: true;
  /** The key was refused: through a host not in `hosts` (a proxy's), the message names it, not `advice`. */
  readonly keyRefused?: true;
}

export interface VendorErrorTable {
  readonly vendor: 'kimi' | 'glm';
  /** The vendor's own API hosts, without a port (`keyRefused`). @default none: advice whatever the host */
  readonly hosts?: readonly string[];
  readonly rows: readonly VendorErrorRow[];
}
