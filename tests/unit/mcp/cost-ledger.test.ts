/**
 * The in-memory cost ledger against the shared contract, and what only it bounds by count: the
 * session ids it remembers (`maxMarks`).
 */
import { describe, expect, it } from 'vitest';
import { MemoryCostLedger } from '../../../src/mcp/cost-ledger.js';
import { costLedgerContract } from './cost-ledger-contract.js';

costLedgerContract('MemoryCostLedger', async (options) => new MemoryCostLedger(options));

describe('MemoryCostLedger', () => {
  it('remembers the latest maxMarks session ids, and counts the owners it holds', async () => {
    const ledger = new MemoryCostLedger({ maxMarks: 2, maxOwners: 3 });
    const end = (sessionId: string) => ({
      sessionId,
      owner: `user:${sessionId}`,
      currency: 'USD',
      amount: 1,
    });
    await ledger.charge(end('a'));
    await ledger.charge(end('b'));
    await ledger.charge(end('b'));
    await ledger.charge(end('c'));
    // `a` is no longer remembered: a late copy of it counts again (what `maxMarks` bounds).
    await ledger.charge(end('a'));
    expect(await ledger.of('user:a')).toEqual({ USD: 2 });
    expect(await ledger.of('user:b')).toEqual({ USD: 1 });
    expect(ledger.owners).toBe(3);
    expect(() => new MemoryCostLedger({ maxMarks: 0 })).toThrow(/maxMarks/);
  });
});
