/** An answer troupe will not take, whatever a retry would meet: mapped to `BAD_RESPONSE`, its message kept. */
export class UnusableResponseError extends Error {}

/** Thrown when a response passes `maxResponseBytes`. */
export class ResponseTooLargeError extends UnusableResponseError {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`Expected a response body of at most ${limitBytes} bytes, got more`);
    this.name = 'ResponseTooLargeError';
    this.limitBytes = limitBytes;
  }
}

/** Thrown when a response body does not decode as its `Content-Encoding` says. */
export class BadEncodingError extends UnusableResponseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BadEncodingError';
  }
}

/**
 * Thrown before a redirect to another origin is followed: nothing is sent there. `fetch` drops
 * `Authorization` across origins, but a providers file's own `headers` (an `api-key`, say) and the
 * prompt would go, and a provider's API has no reason to send a call elsewhere.
 */
export class CrossOriginRedirectError extends UnusableResponseError {
  constructor(from: string, to: string) {
    super(
      `Expected the provider to answer at ${from}, got a redirect to ${to}, which troupe does not follow: if that is the provider's address, set baseURL to it`,
    );
    this.name = 'CrossOriginRedirectError';
  }
}

/**
 * Thrown when an answer read whole stops coming: no byte of its body for `idleMs` once its headers
 * came (undici's `bodyTimeout`, set per call by `fetchWhole`). Mapped to `TIMED_OUT` (idle), as a
 * stream with no delta for its `idleTimeoutMs` is.
 */
export class StalledAnswerError extends Error {
  readonly idleMs: number;
  constructor(idleMs: number, options?: { cause?: unknown }) {
    super(
      `Expected the answer's body to keep coming, no byte of it came for ${idleMs} ms (idleTimeoutMs)`,
      options,
    );
    this.name = 'StalledAnswerError';
    this.idleMs = idleMs;
  }
}

/** undici's body timeout on a call held to `idleMs` as the stall it is (`StalledAnswerError`); any other failure as it is. */
export function stalledOr(error: unknown, idleMs: number): unknown {
  return (error as { code?: unknown } | null)?.code === 'UND_ERR_BODY_TIMEOUT'
    ? new StalledAnswerError(idleMs, { cause: error })
    : error;
}
