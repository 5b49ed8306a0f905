/**
 * `OwnerCosts`: what each kept caller's ended sessions cost, by currency, from the runtime's
 * `session.ended` events.
 */
import { describe, expect, it } from 'vitest';
import { OwnerCosts } from '../../../src/runtime/owner-costs.js';
import type { RuntimeEvent } from '../../../src/runtime/types.js';

function ended(owner: string | undefined, cost?: { currency: string; amount: number }): RuntimeEvent {
  const metadata = {
    ...(owner === undefined ? {} : { caller: { owner } }),
    ...(cost === undefined ? {} : { cost }),
  };
  return {
    type: 'session.ended',
    sessionId: 's',
    at: 0,
    result: { ok: true, metadata },
  } as unknown as RuntimeEvent;
}

describe('OwnerCosts', () => {
  it('sums the cost of each kept owner’s ended sessions by currency, and keeps no other owner', () => {
    let listener: ((event: RuntimeEvent) => void) | undefined;
    let subscribed = 0;
    const runtime = {
      subscribe: (l: (event: RuntimeEvent) => void) => {
        listener = l;
        subscribed++;
        return () => {
          listener = undefined;
        };
      },
    };
    const costs = new OwnerCosts(runtime, (owner) => owner.startsWith('token:'));
    expect(subscribed).toBe(1);
    const emit = (event: RuntimeEvent) => listener?.(event);
    emit(ended('token:a', { currency: 'USD', amount: 0.1 }));
    emit(ended('token:a', { currency: 'USD', amount: 0.2 }));
    emit(ended('token:a', { currency: 'CNY', amount: 3 }));
    emit(ended('token:b'));
    emit(ended('mcp:x', { currency: 'USD', amount: 5 }));
    emit(ended(undefined, { currency: 'USD', amount: 7 }));
    emit({ type: 'session.started', sessionId: 's', at: 0 } as unknown as RuntimeEvent);
    // Rounded as `metrics().cost` is: 0.1 + 0.2 is 0.3.
    expect(costs.of('token:a')).toEqual({ USD: 0.3, CNY: 3 });
    expect(costs.of('token:b')).toEqual({});
    expect(costs.of('mcp:x')).toEqual({});
    expect(costs.owners).toBe(1);
    // A copy: the caller cannot change what is kept.
    costs.of('token:a').USD = 99;
    expect(costs.of('token:a').USD).toBe(0.3);
    costs.close();
    expect(listener).toBeUndefined();
  });
});
