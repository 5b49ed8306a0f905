/**
 * What every cost ledger must do (memory and Redis run the same cases, `src/ports/cost-ledger.ts`):
 * a session charged once however many instances charge it, sums by currency read rounded, named
 * tokens pinned, every other owner held up to `maxOwners`, the least recently charged forgotten, and
 * a total of every charge, owners forgotten and charges without one included.
 */
import { describe, expect, it } from 'vitest';
import type { CostCharge, CostLedger, CostLedgerOptions } from '../../../src/ports/cost-ledger.js';

export type LedgerFactory = (options: CostLedgerOptions) => Promise<CostLedger>;

let seq = 0;
const charge = (owner: string, amount: number, currency = 'USD', pinned = false): CostCharge => ({
  sessionId: `s${++seq}`,
  owner,
  currency,
  amount,
  pinned,
});

export function costLedgerContract(name: string, make: LedgerFactory): void {
  describe(`${name}: the cost ledger contract`, () => {
    it('sums an owner’s charges by currency, rounded to the billionth, and reads {} for an owner charged nothing', async () => {
      const ledger = await make({});
      await ledger.charge(charge('user:a', 0.1));
      await ledger.charge(charge('user:a', 0.2));
      await ledger.charge(charge('user:a', 3, 'CNY'));
      await ledger.charge(charge('user:b', 0.000_000_000_4));
      expect(await ledger.of('user:a')).toEqual({ USD: 0.3, CNY: 3 });
      expect(await ledger.of('user:b')).toEqual({ USD: 0 });
      expect(await ledger.of('user:c')).toEqual({});
      // A fresh object: the reader cannot change what is held.
      const read = await ledger.of('user:a');
      read.USD = 99;
      expect((await ledger.of('user:a')).USD).toBe(0.3);
      await ledger.close();
    });

    it('charges a session once, however many times its end is charged (every instance hears it)', async () => {
      const ledger = await make({});
      const once = charge('token:a', 1.5, 'USD', true);
      await Promise.all([ledger.charge(once), ledger.charge(once)]);
      await ledger.charge({ ...once });
      await ledger.charge(charge('token:a', 1, 'USD', true));
      expect(await ledger.of('token:a')).toEqual({ USD: 2.5 });
      await ledger.close();
    });

    it('holds maxOwners owners, forgetting the least recently charged; pinned owners are never forgotten nor counted', async () => {
      const ledger = await make({ maxOwners: 2 });
      await ledger.charge(charge('token:named', 7, 'USD', true));
      await ledger.charge(charge('mcp:1', 1));
      await ledger.charge(charge('mcp:2', 2));
      // mcp:1 charged again: mcp:2 is now the least recently charged.
      await ledger.charge(charge('mcp:1', 1));
      await ledger.charge(charge('mcp:3', 3));
      expect(await ledger.of('mcp:1')).toEqual({ USD: 2 });
      expect(await ledger.of('mcp:2')).toEqual({});
      expect(await ledger.of('mcp:3')).toEqual({ USD: 3 });
      for (let i = 4; i < 10; i++) await ledger.charge(charge(`mcp:${i}`, i));
      expect(await ledger.of('token:named')).toEqual({ USD: 7 });
      expect(await ledger.of('mcp:8')).toEqual({ USD: 8 });
      expect(await ledger.of('mcp:9')).toEqual({ USD: 9 });
      expect(await ledger.of('mcp:7')).toEqual({});
      // A forgotten owner charged again starts from nothing.
      await ledger.charge(charge('mcp:2', 5));
      expect(await ledger.of('mcp:2')).toEqual({ USD: 5 });
      await ledger.close();
    });

    it('totals every charge once, whoever its owner: forgotten owners and charges with none included', async () => {
      const ledger = await make({ maxOwners: 1 });
      expect(await ledger.total()).toEqual({});
      const once = charge('token:named', 0.1, 'USD', true);
      await Promise.all([ledger.charge(once), ledger.charge(once)]);
      await ledger.charge(charge('mcp:1', 0.2));
      // mcp:1 forgotten as mcp:2 comes: its amount stays in the total.
      await ledger.charge(charge('mcp:2', 4, 'CNY'));
      await ledger.charge({ sessionId: `s${++seq}`, currency: 'USD', amount: 1 });
      const ownerless = { sessionId: `s${++seq}`, currency: 'CNY', amount: 0.5 };
      await ledger.charge(ownerless);
      await ledger.charge(ownerless);
      expect(await ledger.of('mcp:1')).toEqual({});
      expect(await ledger.total()).toEqual({ USD: 1.3, CNY: 4.5 });
      // A fresh object.
      const read = await ledger.total();
      read.USD = 99;
      expect((await ledger.total()).USD).toBe(1.3);
      // A charge without an owner is nobody's: not even an owner named ''.
      expect(await ledger.of('')).toEqual({});
      await ledger.close();
    });

    it('refuses a bound that is not a positive integer', async () => {
      for (const maxOwners of [0, -1, 1.5, Number.NaN])
        await expect(make({ maxOwners }), String(maxOwners)).rejects.toThrow(/maxOwners/);
    });
  });
}
