/**
 * `OwnerCosts`: each priced `session.ended` the runtime tells is charged to its owner in the cost
 * ledger: every owner but stdio's `local`, named tokens pinned; `local`'s and owner-less ends count
 * in the total alone, which sums them all; a charge the ledger fails goes to `onError`.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCostLedger } from '../../../src/mcp/cost-ledger.js';
import { OwnerCosts } from '../../../src/mcp/owner-costs.js';
import type { CostCharge, CostLedger } from '../../../src/ports/cost-ledger.js';
import type { RuntimeEvent } from '../../../src/runtime/types.js';

let seq = 0;
function ended(owner: string | undefined, cost?: { currency: string; amount: number }): RuntimeEvent {
  const metadata = {
    ...(owner === undefined ? {} : { caller: { owner } }),
    ...(cost === undefined ? {} : { cost }),
  };
  return {
    type: 'session.ended',
    sessionId: `s${++seq}`,
    at: 0,
    result: { ok: true, metadata },
  } as unknown as RuntimeEvent;
}

function fakeRuntime() {
  let listener: ((event: RuntimeEvent) => void) | undefined;
  let subscribed = 0;
  return {
    subscribe: (l: (event: RuntimeEvent) => void) => {
      listener = l;
      subscribed++;
      return () => {
        listener = undefined;
      };
    },
    emit: (event: RuntimeEvent) => listener?.(event),
    get subscribed() {
      return subscribed;
    },
    get listening() {
      return listener !== undefined;
    },
  };
}

describe('OwnerCosts', () => {
  it('charges every owner but `local` the cost of its priced ended sessions, named tokens pinned, and every priced end to the total', async () => {
    const runtime = fakeRuntime();
    const charges: CostCharge[] = [];
    const memory = new MemoryCostLedger();
    const ledger: CostLedger = {
      charge: (c) => {
        charges.push(c);
        return memory.charge(c);
      },
      of: (owner) => memory.of(owner),
      total: () => memory.total(),
      close: () => memory.close(),
    };
    const costs = new OwnerCosts(runtime, ledger, () => {});
    expect(runtime.subscribed).toBe(1);
    runtime.emit(ended('token:a', { currency: 'USD', amount: 0.1 }));
    runtime.emit(ended('token:a', { currency: 'USD', amount: 0.2 }));
    runtime.emit(ended('token:a', { currency: 'CNY', amount: 3 }));
    runtime.emit(ended('token:b'));
    runtime.emit(ended('mcp:x', { currency: 'USD', amount: 5 }));
    runtime.emit(ended('user:u', { currency: 'USD', amount: 6 }));
    runtime.emit(ended('local', { currency: 'USD', amount: 8 }));
    runtime.emit(ended(undefined, { currency: 'USD', amount: 7 }));
    runtime.emit({ type: 'session.started', sessionId: 's', at: 0 } as unknown as RuntimeEvent);
    expect(await costs.of('token:a')).toEqual({ USD: 0.3, CNY: 3 });
    expect(await costs.of('token:b')).toEqual({});
    expect(await costs.of('mcp:x')).toEqual({ USD: 5 });
    expect(await costs.of('user:u')).toEqual({ USD: 6 });
    expect(await costs.of('local')).toEqual({});
    expect(await costs.total()).toEqual({ USD: 26.3, CNY: 3 });
    expect(charges.map((c) => [c.owner, c.pinned])).toEqual([
      ['token:a', true],
      ['token:a', true],
      ['token:a', true],
      ['mcp:x', false],
      ['user:u', false],
      [undefined, undefined],
      [undefined, undefined],
    ]);
    // Each by its session's id: the ledger counts an end once, however many instances heard it.
    expect(new Set(charges.map((c) => c.sessionId)).size).toBe(7);
    costs.close();
    expect(runtime.listening).toBe(false);
  });

  it('reports a charge the ledger failed', async () => {
    const runtime = fakeRuntime();
    const failed = new Error('Redis away');
    const errors: unknown[] = [];
    const ledger: CostLedger = {
      charge: () => Promise.reject(failed),
      of: async () => ({}),
      total: async () => ({}),
      close: async () => {},
    };
    const costs = new OwnerCosts(runtime, ledger, (error) => errors.push(error));
    runtime.emit(ended('user:u', { currency: 'USD', amount: 1 }));
    await Promise.resolve();
    await Promise.resolve();
    expect(errors).toEqual([failed]);
    costs.close();
  });
});
