/**
 * The runtime's gate before each provider call, from its parts: the provider's circuit breaker
 * (`breakers.ts`) and, later in this file's life, the caller's budget. Each part may answer
 * synchronously (in memory) or with a promise (a shared backend); the gate answers the same way.
 */
import { TroupeError } from '../core/errors.js';
import type { BreakerPass, Breakers } from './breakers.js';
import type { CallEnd, CallGate } from './provider-call.js';
import type { SessionRecord } from './session-record.js';

interface Ticket {
  readonly pass: BreakerPass;
}

export function createCallGate(parts: {
  readonly breakers?: Breakers | undefined;
}): CallGate<SessionRecord> | undefined {
  const { breakers } = parts;
  if (breakers === undefined) return undefined;
  const ticketOf = (pass: BreakerPass | TroupeError): Ticket | TroupeError =>
    pass instanceof TroupeError ? pass : { pass };
  return {
    open(_call, provider) {
      const pass = breakers.admit(provider.name);
      return pass instanceof Promise ? pass.then(ticketOf) : ticketOf(pass);
    },
    close(ticket, end: CallEnd) {
      breakers.report((ticket as Ticket).pass, end.failure);
    },
  };
}
