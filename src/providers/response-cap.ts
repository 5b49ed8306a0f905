/** Thrown when a response passes `maxResponseBytes`; mapped to `BAD_RESPONSE`. */
export class ResponseTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`Expected a response body of at most ${limitBytes} bytes, got more`);
    this.name = 'ResponseTooLargeError';
    this.limitBytes = limitBytes;
  }
}

/** Thrown when a response body does not decode as its `Content-Encoding` says; mapped to `BAD_RESPONSE`. */
export class BadEncodingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BadEncodingError';
  }
}
