/**
 * A provider's limits as the test server enforces them (`createOpenAIServer({ enforce })`): at most
 * `concurrency` chat requests at once and `requestsPerMinute` in any window of `windowMs`, answered
 * past either with Moonshot's 429 (`rate_limit_reached_error`, "... please try again after N
 * seconds", N being when its window is empty again) and, when `retryAfter` is set, a
 * `Retry-After` header with the same N. A test that cannot wait a real
 * minute gives the server and the runtime one fast clock (`now`) and keeps `windowMs` at 60 s.
 *
 * A server speaking as GLM (`vendor: 'glm'`) counts each model apart, as Z.ai and Zhipu do ("不同模型
 * 设有独立的并发限制", docs.bigmodel.cn/cn/api/rate-limit), and answers with their codes: 1302
 * past the concurrency, 1303 past the frequency.
 */
import type { ServerResponse } from 'node:http';

export interface EnforcedLimits {
  readonly concurrency?: number;
  readonly requestsPerMinute?: number;
  /** The window `requestsPerMinute` counts in, in ms of `now`. @default 60000 */
  readonly windowMs?: number;
  /** The time the window is measured in. @default Date.now */
  readonly now?: () => number;
  /** Send `Retry-After` (seconds) with each 429, as a hint. @default false */
  readonly retryAfter?: boolean;
}

/** What one window counts: the starts in it and the requests in flight. */
interface Count {
  readonly starts: number[];
  inFlight: number;
}

export class TierLimits {
  /** By model when the server speaks as GLM; else one count, under ''. */
  private readonly counts = new Map<string, Count>();
  /** 429s answered. */
  rejected = 0;

  constructor(
    private readonly limits: EnforcedLimits,
    private readonly vendor?: 'kimi' | 'glm',
  ) {}

  /** Admits a request for `model` (and frees its slot when `res` closes), or answers it 429; `true` if admitted. */
  admit(res: ServerResponse, model?: unknown): boolean {
    const now = (this.limits.now ?? Date.now)();
    const windowMs = this.limits.windowMs ?? 60_000;
    const key = this.vendor === 'glm' ? String(model) : '';
    const count = this.counts.get(key) ?? { starts: [], inFlight: 0 };
    this.counts.set(key, count);
    const { starts } = count;
    while (starts.length > 0 && (starts[0] as number) <= now - windowMs) starts.shift();
    const { concurrency, requestsPerMinute } = this.limits;
    let reason: 'concurrency' | 'frequency' | undefined;
    let waitMs = 1000;
    if (concurrency !== undefined && count.inFlight >= concurrency) {
      reason = 'concurrency';
    } else if (requestsPerMinute !== undefined && starts.length >= requestsPerMinute) {
      reason = 'frequency';
      // The hint is when the window is empty again, not when its oldest start leaves it.
      waitMs = (starts.at(-1) as number) + windowMs - now;
    }
    if (reason === undefined) {
      starts.push(now);
      count.inFlight++;
      const admitted = count;
      res.once('close', () => {
        admitted.inFlight--;
      });
      return true;
    }
    this.rejected++;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.limits.retryAfter === true) headers['retry-after'] = String(seconds);
    res.writeHead(429, headers);
    res.end(
      JSON.stringify(this.vendor === 'glm' ? glmBody(reason) : moonshotBody(reason, seconds, this.limits)),
    );
    return false;
  }
}

function moonshotBody(reason: 'concurrency' | 'frequency', seconds: number, limits: EnforcedLimits) {
  const what =
    reason === 'concurrency'
      ? `max concurrency: ${limits.concurrency}`
      : `max RPM: ${limits.requestsPerMinute}`;
  return {
    error: {
      message: `Your account org-1<ak-1> request reached organization ${what}, please try again after ${seconds} seconds`,
      type: 'rate_limit_reached_error',
    },
  };
}

/** Z.ai's own texts for its codes (docs.z.ai/api-reference/api-code). */
function glmBody(reason: 'concurrency' | 'frequency') {
  return reason === 'concurrency'
    ? {
        error: {
          code: '1302',
          message:
            'High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits',
        },
      }
    : {
        error: {
          code: '1303',
          message:
            'High frequency usage of this API, please reduce frequency or contact customer service to increase limits',
        },
      };
}
