/**
 * Charts come from the machine definitions: every state, guard and named action appears, the JSON
 * is XState's definition, and docs/machines.md is exactly what the generator prints.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sessionMachine } from '../../machines/session.js';
import { supervisorMachine } from '../../machines/supervisor.js';
import { chartJson, chartMermaid, chartModel } from '../../src/observe/chart.js';
import { chartSvg } from '../../src/observe/chart-svg.js';
import { machinesMarkdown } from '../../src/observe/machines-doc.js';

describe('charts from the machines', () => {
  it('docs/machines.md is up to date (run `npm run docs:machines` when a machine changes)', () => {
    expect(readFileSync('docs/machines.md', 'utf8')).toBe(machinesMarkdown());
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

  it('the SVG has a counted box per state and one arrow per pair of sibling states', () => {
    const svg = chartSvg(chartModel(sessionMachine));
    for (const id of chartModel(sessionMachine)
      .states.slice(1)
      .map((s) => s.id))
      expect(svg).toContain(`data-count="${id}"`);
    expect(svg.match(/<g class="edge">/g)?.length).toBe(10);
  });
});
