/** Thrown when a response passes `maxResponseBytes`; mapped to `BAD_RESPONSE`. */
export class ResponseTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`Expected a response body of at most ${limitBytes} bytes, got more`);
    this.name = 'ResponseTooLargeError';
    this.limitBytes = limitBytes;
  }
}
