/**
 * A provider's limits as the test server enforces them (`createOpenAIServer({ enforce })`): at most
 * `concurrency` chat requests at once and `requestsPerMinute` in any window of `windowMs`, answered
 * past either with Moonshot's 429 (`rate_limit_reached_error`, "... please try again after N
 * seconds", N being when its window is empty again) and, when `retryAfter` is set, a
 * `Retry-After` header with the same N. A test that cannot wait a real
 * minute gives the server and the runtime one fast clock (`now`) and keeps `windowMs` at 60 s.
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

export class TierLimits {
  private readonly starts: number[] = [];
  private inFlight = 0;
  /** 429s answered. */
  rejected = 0;

  constructor(private readonly limits: EnforcedLimits) {}

  /** Admits a request (and frees its slot when `res` closes), or answers it 429; `true` if admitted. */
  admit(res: ServerResponse): boolean {
    const now = (this.limits.now ?? Date.now)();
    const windowMs = this.limits.windowMs ?? 60_000;
    while (this.starts.length > 0 && (this.starts[0] as number) <= now - windowMs) this.starts.shift();
    const { concurrency, requestsPerMinute } = this.limits;
    let reason: string | undefined;
    let waitMs = 1000;
    if (concurrency !== undefined && this.inFlight >= concurrency) {
      reason = `max concurrency: ${concurrency}`;
    } else if (requestsPerMinute !== undefined && this.starts.length >= requestsPerMinute) {
      reason = `max RPM: ${requestsPerMinute}`;
      // The hint is when the window is empty again, not when its oldest start leaves it.
      waitMs = (this.starts.at(-1) as number) + windowMs - now;
    }
    if (reason === undefined) {
      this.starts.push(now);
      this.inFlight++;
      res.once('close', () => {
        this.inFlight--;
      });
      return true;
    }
    this.rejected++;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.limits.retryAfter === true) headers['retry-after'] = String(seconds);
    res.writeHead(429, headers);
    res.end(
      JSON.stringify({
        error: {
          message: `Your account org-1<ak-1> request reached organization ${reason}, please try again after ${seconds} seconds`,
          type: 'rate_limit_reached_error',
        },
      }),
    );
    return false;
  }
}
