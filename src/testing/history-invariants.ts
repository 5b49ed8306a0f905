/**
 * `historyEviction` (see `invariants.ts`): which ended sessions the history keeps, from
 * `limits.historySize` in docs/runtime.md, on a copy kept by this observer. Every session that ends
 * goes in; once `historySize` are kept, one makes room for it: the oldest of the caller
 * (`metadata.owner`; sessions without one count as one caller) holding the most, so one caller's
 * many ended sessions push out its own and never another's; with one caller, the oldest. On a tie
 * (`history.ts`): the new entry's own caller gives way when it is among those holding the most,
 * else the one that came to hold that many first. After each step, `status({ recent })` must list
 * exactly the sessions kept here, newest first.
 */
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { Violation } from './invariants.js';

interface Holder {
  /** Its entries, oldest first. */
  readonly ids: string[];
  /** When it came to hold as many as it holds now (its place among those holding as many). */
  since: number;
}

export class HistorySeen {
  readonly violations: Violation[] = [];
  /** Every entry, oldest first. */
  private kept: string[] = [];
  private readonly holders = new Map<string | undefined, Holder>();
  private readonly owners = new Map<string, string | undefined>();
  private tick = 0;
  private reported = false;
  readonly unsubscribe: () => void;

  constructor(
    private readonly runtime: Pick<Runtime, 'subscribe' | 'session' | 'status'>,
    private readonly historySize: number,
  ) {
    this.unsubscribe = runtime.subscribe((event) => this.onEvent(event));
  }

  private onEvent(event: RuntimeEvent): void {
    if (event.type === 'session.queued')
      this.owners.set(event.sessionId, this.runtime.session(event.sessionId)?.owner);
    else if (event.type === 'session.ended') this.keep(event.sessionId, this.owners.get(event.sessionId));
  }

  private keep(id: string, owner: string | undefined): void {
    this.owners.delete(id);
    if (this.historySize === 0) return;
    let holder = this.holders.get(owner);
    if (this.kept.length >= this.historySize) {
      let most = 0;
      for (const h of this.holders.values()) most = Math.max(most, h.ids.length);
      let giving = holder !== undefined && holder.ids.length === most ? holder : undefined;
      if (giving === undefined)
        for (const h of this.holders.values())
          if (h.ids.length === most && (giving === undefined || h.since < giving.since)) giving = h;
      const gone = giving?.ids.shift();
      this.kept = this.kept.filter((k) => k !== gone);
      if (giving !== undefined && giving === holder) {
        // Its own oldest made room: it holds as many as before, in the same place.
        holder.ids.push(id);
        this.kept.push(id);
        return;
      }
      if (giving !== undefined) {
        giving.since = this.tick++;
        for (const [key, h] of this.holders) if (h === giving && h.ids.length === 0) this.holders.delete(key);
      }
    }
    if (holder === undefined) {
      holder = { ids: [], since: 0 };
      this.holders.set(owner, holder);
    }
    holder.ids.push(id);
    holder.since = this.tick++;
    this.kept.push(id);
  }

  /** After a step: the runtime's history is the one kept here (reported once per run). */
  check(): void {
    if (this.reported) return;
    const listed = this.runtime.status({ recent: Number.MAX_SAFE_INTEGER }).recent.map((s) => s.sessionId);
    const expected = [...this.kept].reverse();
    if (listed.join() === expected.join()) return;
    this.reported = true;
    this.violations.push({
      invariant: 'historyEviction',
      detail: `Expected the history (newest first, historySize ${this.historySize}) to be [${expected.map(short).join(', ')}], got [${listed.map(short).join(', ')}]`,
    });
  }
}

const short = (id: string): string => id.slice(0, 8);
