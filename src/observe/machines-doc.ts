/**
 * `docs/machines.md`, generated from the machines (`npm run docs:machines`); a test fails when the
 * committed file differs from what this produces.
 */
import { type ChartName, chartMermaid, chartModel, MACHINES } from './chart.js';

const INTRO: Readonly<Record<ChartName, string>> = {
  session:
    "One request's life. The runtime sends `session.tick` when the earliest deadline in context comes; " +
    '`startProviderCall` / `abortProviderCall` are the effects at the edge (leaving `attempt` for any reason aborts the call).',
  supervisor:
    "The runtime's lifecycle. Admission (priorities, limits, fairness) is the scheduler's pure policy, not transitions here.",
  breaker:
    "One provider's circuit breaker (`breakers: {...}`): failures (5xx, network, timeouts) within the window open it; open, calls fail fast with `PROVIDER_UNAVAILABLE`; the first call after `openUntil` is the probe, whose answer closes it. Its snapshot is what the shared state stores (one per provider, shared on Redis).",
};

export function machinesMarkdown(): string {
  const out: string[] = [
    '# The machines',
    '',
    '<!-- Generated from machines/*.ts by `npm run docs:machines` (troupe chart --docs). Do not edit by hand: a test fails when this file is stale. -->',
    '',
    'Every diagram is drawn from the machine definitions themselves (`troupe chart session|supervisor|breaker`).',
    "For Stately's editor and visualiser, export the XState definition with `troupe chart <name> --format json`.",
    'Mermaid cannot draw an edge between states inside different composite states, so such an edge is drawn',
    'between their ancestors and its label says which state it leaves (`from calling`); the tables give the exact ends.',
    '',
  ];
  for (const name of Object.keys(MACHINES) as ChartName[]) {
    const machine = MACHINES[name];
    const model = chartModel(machine);
    const short = (id: string) => id.slice(model.root.length + 1) || id;
    out.push(`## ${name}`, '', INTRO[name], '', '```mermaid', chartMermaid(machine).trimEnd(), '```', '');
    out.push('| from | event | guard | to | actions |', '| --- | --- | --- | --- | --- |');
    for (const t of model.transitions) {
      out.push(
        `| ${short(t.source)} | \`${t.event}\` | ${t.guard ?? ''} | ${t.target === null ? '(stays)' : short(t.target)} | ${t.actions.join(', ')} |`,
      );
    }
    out.push('', '| state | type | entry | exit |', '| --- | --- | --- | --- |');
    for (const s of model.states) {
      if (s.id === model.root) continue;
      out.push(`| ${short(s.id)} | ${s.type} | ${s.entry.join(', ')} | ${s.exit.join(', ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
