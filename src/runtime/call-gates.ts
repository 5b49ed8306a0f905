/**
 * The runtime's gate before each provider call, from its parts: the caller's budgets
 * (`budgets.ts`: reserve the call's estimated cost, settle with what it cost) and the provider's
 * circuit breaker (`breakers.ts`). Budgets first: a breaker's probe is never granted to a call the
 * budget then refuses. Each part may answer synchronously or with a promise; so does the gate.
 */
import { TroupeError } from '../core/errors.js';
import type { BreakerPass, Breakers } from './breakers.js';
import type { Budgets, Reservation } from './budgets.js';
import type { CallEnd, CallGate } from './provider-call.js';
import type { SessionRecord } from './session-record.js';

interface Ticket {
  readonly pass: BreakerPass | null;
  readonly reservation: Reservation | null;
}

export interface GateParts {
  readonly breakers?: Breakers | undefined;
  readonly budgets?: Budgets | undefined;
  readonly onError: (error: unknown) => void;
}

export function createCallGate(parts: GateParts): CallGate<SessionRecord> | undefined {
  const { breakers, budgets, onError } = parts;
  if (breakers === undefined && budgets === undefined) return undefined;

  const withBreaker = (provider: string, reservation: Reservation | null): unknown => {
    if (breakers === undefined) return { pass: null, reservation };
    const done = (pass: BreakerPass | TroupeError): Ticket | TroupeError => {
      if (!(pass instanceof TroupeError)) return { pass, reservation };
      // A reservation comes only from the budgets.
      if (reservation !== null) (budgets as Budgets).settle(reservation, undefined).catch(onError);
      return pass;
    };
    const pass = breakers.admit(provider);
    return pass instanceof Promise ? pass.then(done) : done(pass);
  };

  return {
    open(call, provider, request) {
      if (budgets === undefined) return withBreaker(provider.name, null);
      return budgets
        .reserve(call.owner.caller?.owner, provider.name, request)
        .then((reserved) =>
          reserved instanceof TroupeError ? reserved : withBreaker(provider.name, reserved),
        );
    },
    close(ticket, end: CallEnd) {
      const { pass, reservation } = ticket as Ticket;
      // Bookkeeping after the call, never the call's outcome: a throw here (a stored breaker
      // snapshot its machine cannot step, say) is reported and the settle still goes. Until
      // 2026-12-06 it went up through the call's end: a failed call's session heard no answer and
      // waited for its run deadline, and the throw was an unhandled rejection.
      try {
        // A pass comes only from the breakers, a reservation only from the budgets.
        if (pass !== null) (breakers as Breakers).report(pass, end);
      } catch (error) {
        onError(error);
      }
      // A call the session cut before usage came is charged its prompt (the vendor read it).
      if (reservation !== null)
        (budgets as Budgets).settle(reservation, end.usage, end.aborted).catch(onError);
    },
  };
}
