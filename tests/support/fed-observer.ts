/**
 * A `RuntimeObserver` on a stand-in runtime that emits only what the test feeds it (`ev`, each
 * event stamped with the next millisecond): the observer judged alone, on event sequences a broken
 * runtime would emit.
 */
import { type ObservedLimits, RuntimeObserver } from '../../src/testing/invariants.js';

/** `owners`: each session's caller (`metadata.owner`), as `runtime.session(id)` would say. */
export function fedObserver(limits: ObservedLimits, owners: Readonly<Record<string, string>> = {}) {
  let listener: (event: object) => void = () => {};
  const runtime = {
    subscribe: (l: (event: object) => void) => {
      listener = l;
      return () => {};
    },
    session: (id: string) => (owners[id] === undefined ? undefined : { owner: owners[id] }),
  };
  const observer = new RuntimeObserver(runtime as never, limits);
  let at = 0;
  const ev = (event: object) => listener({ ...event, at: at++ });
  return { observer, ev };
}
