/**
 * Charts come from the machine definitions: every state, guard and named action appears, the JSON
 * is XState's definition, and docs/machines.md is exactly what the generator prints.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StateMachine } from 'xstate';
import { sessionMachine } from '../../machines/session.js';
import { supervisorMachine } from '../../machines/supervisor.js';
import { chartJson, chartMermaid, chartModel, MACHINES } from '../../src/observe/chart.js';
import { layoutChart, shortEvent } from '../../src/observe/chart-layout.js';
import { chartSvg } from '../../src/observe/chart-svg.js';
import { machinesDocs } from '../../src/observe/machines-doc.js';

describe('charts from the machines', () => {
  it('docs/machines.md and docs/charts/*.svg are up to date (run `npm run docs:machines` when a machine changes)', async () => {
    const files = await machinesDocs();
    expect([...files.keys()]).toEqual([
      'machines.md',
      ...Object.keys(MACHINES).map((name) => `charts/${name}.svg`),
    ]);
    for (const [path, text] of files) expect(readFileSync(`docs/${path}`, 'utf8'), path).toBe(text);
  });

  it('draws every machine that machines/ defines: one added there and left out of `MACHINES` fails here', async () => {
    // The docs check above compares the charts of `MACHINES` only: a machine left out had none to compare.
    const defined: string[] = [];
    for (const file of readdirSync('machines').filter((f) => f.endsWith('.ts'))) {
      const module = (await import(`../../machines/${file}`)) as Record<string, unknown>;
      for (const value of Object.values(module)) if (value instanceof StateMachine) defined.push(value.id);
    }
    expect(defined).toContain('session');
    // Each drawn under its own id: the page's `#chart-<name>` and docs/charts/<name>.svg.
    const drawn = Object.entries(MACHINES).map(([name, machine]) => `${name}=${machine.id}`);
    expect(drawn.sort()).toEqual(defined.map((id) => `${id}=${id}`).sort());
  });

  it('the model has every state node and transition of the machine, with guards and actions', () => {
    const model = chartModel(sessionMachine);
    const ids = model.states.map((s) => s.id);
    expect(ids).toEqual([
      'session',
      'session.queued',
      'session.running',
      'session.running.attempt',
      'session.running.attempt.calling',
      'session.running.attempt.streaming',
      'session.running.backingOff',
      'session.running.fallingBack',
      'session.done',
      'session.failed',
      'session.timedOut',
      'session.cancelled',
    ]);
    expect(model.states.filter((s) => s.type === 'final').map((s) => s.key)).toEqual([
      'done',
      'failed',
      'timedOut',
      'cancelled',
    ]);
    expect(model.states.find((s) => s.id === 'session.running.attempt')).toMatchObject({
      entry: ['assign', 'notifyStarted', 'startProviderCall'],
      exit: ['abortProviderCall'],
    });
    expect(model.transitions).toContainEqual({
      source: 'session.running.attempt.calling',
      target: 'session.running.backingOff',
      event: 'provider.error',
      guard: 'canRetry',
      actions: ['scheduleRetry', 'notifyRetry'],
    });
    const guards = new Set(model.transitions.map((t) => t.guard).filter((g) => g !== null));
    expect([...guards].sort()).toEqual(Object.keys(sessionMachine.implementations.guards).sort());
  });

  it('Mermaid names every state, marks finals and carries guards; the supervisor too', () => {
    const session = chartMermaid(sessionMachine);
    expect(session.startsWith('stateDiagram-v2\n')).toBe(true);
    for (const final of ['done', 'failed', 'timedOut', 'cancelled'])
      expect(session).toContain(`session_${final} --> [*]`);
    expect(session).toContain('[queueDeadlinePassed] / recordQueueTimeout');
    expect(session).toContain('exit / abortProviderCall');
    const supervisor = chartMermaid(supervisorMachine);
    expect(supervisor).toContain(
      'supervisor_draining --> supervisor_stopped: supervisor.tick [drainDeadlinePassed] / cancelRemaining',
    );
  });

  it('JSON is the machine definition as XState serialises it, with no functions lost as null', () => {
    const text = chartJson(sessionMachine);
    const json = JSON.parse(text);
    expect(json).toMatchObject({ id: 'session', type: 'compound', initial: { target: ['#session.queued'] } });
    expect(Object.keys(json.states)).toEqual([
      'queued',
      'running',
      'done',
      'failed',
      'timedOut',
      'cancelled',
    ]);
    expect(json.states.queued.on['session.admit'][0].actions).toEqual([{ type: 'xstate.assign' }]);
    expect(text).not.toContain('null,');
    expect(text).not.toMatch(/"toJSON"/);
  });

  it('the laid-out SVG has a counted box per state and one labelled edge per pair of states, with exact ends', async () => {
    const model = chartModel(sessionMachine);
    const layout = await layoutChart(model);
    const svg = chartSvg(model, layout);
    for (const id of model.states.slice(1).map((s) => s.id)) {
      expect(svg).toContain(`data-state="${id}"`);
      expect(svg).toContain(`data-count="${id}"`);
    }
    // 20 transitions that leave their state, between 18 pairs (queued → fallingBack and backingOff →
    // fallingBack are `session.reroute`); 3 initial arrows (root, running, attempt).
    expect(svg.match(/<g class="edge"/g)?.length).toBe(18);
    expect(svg).toContain(
      'data-source="session.running.backingOff" data-target="session.running.fallingBack"',
    );
    expect(svg.match(/<g class="edge initial"/g)?.length).toBe(3);
    expect(svg).toContain(
      'data-source="session.running.attempt.calling" data-target="session.running.backingOff"',
    );
    expect(svg).toContain(
      'data-source="session.running.attempt.calling" data-target="session.running.fallingBack"',
    );
    const tick = layout.edges.find(
      (e) => e.source === 'session.running.attempt' && e.target === 'session.timedOut',
    );
    expect(tick).toMatchObject({ label: 'tick' });
    expect(tick!.title.split('\n')).toHaveLength(2);
    // Every state is inside its parent's box.
    for (const s of model.states)
      if (s.parent !== null && s.parent !== model.root) {
        const [c, p] = [layout.boxes.get(s.id)!, layout.boxes.get(s.parent)!];
        expect(c.x >= p.x && c.y >= p.y && c.x + c.w <= p.x + p.w && c.y + c.h <= p.y + p.h, s.id).toBe(true);
      }
    expect(chartSvg(model, layout, { counts: false })).not.toContain('data-count');
  });

  it('edge labels are the last part of each event type, and XState events by what they mean', () => {
    expect(
      [
        'provider.error',
        'session.tick',
        'go',
        '',
        'xstate.after.500.gadget.active.motor.fast',
        'xstate.after.cooldown.provider.open',
        'xstate.done.actor.fetch.user',
        'xstate.error.actor.fetch',
        'xstate.done.state.gadget.active',
      ].map(shortEvent),
    ).toEqual([
      'error',
      'tick',
      'go',
      '(always)',
      'after 500ms',
      'after cooldown',
      'done: fetch.user',
      'error: fetch',
      'done',
    ]);
  });
});
