/** The compiled actor's inspection hook (`ActorWatch`): restored actors report too, and so does a throw. */
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { type ActorWatch, compileMachine } from '../../../../src/core/statechart/compile.js';

type Ev = { type: 'GO' } | { type: 'BOOM' };
const machine = setup({
  types: { events: {} as Ev },
  actions: {
    explode: () => {
      throw new Error('bad action');
    },
  },
}).createMachine({
  id: 'w',
  initial: 'a',
  context: () => ({}),
  states: {
    a: { on: { GO: 'b', BOOM: { actions: 'explode' } } },
    b: { on: { BOOM: { actions: 'explode' } } },
  },
});

function recorder() {
  const seen: string[] = [];
  const watch: ActorWatch<object, Ev> = {
    event: (_actor, event) => seen.push(`event ${event.type}`),
    snapshot: (actor, event) => {
      const { value, status, error } = actor.getSnapshot();
      const why = error === undefined ? '' : ` (${(error as Error).message})`;
      seen.push(`snapshot ${event.type} ${String(value)} ${status}${why}`);
    },
  };
  return { seen, watch };
}

describe('ActorWatch', () => {
  it('a restored actor reports each event and the snapshot after it', () => {
    const { seen, watch } = recorder();
    const actor = compileMachine<object, Ev, undefined>(machine).restore('a', {}, watch);
    actor.send({ type: 'GO' });
    expect(seen).toEqual(['event GO', 'snapshot GO b active']);
  });

  it('an action that throws is reported as a snapshot in status error', () => {
    const { seen, watch } = recorder();
    const actor = compileMachine<object, Ev, undefined>(machine).start(undefined, watch);
    actor.send({ type: 'BOOM' });
    expect(seen.slice(-2)).toEqual(['event BOOM', 'snapshot BOOM a error (bad action)']);
    expect(actor.getSnapshot().status).toBe('error');
  });
});
