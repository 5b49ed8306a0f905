/**
 * `docs/machines.md` and the chart it shows per machine (`docs/charts/<name>.svg`, laid out by ELK),
 * generated from the machines (`npm run docs:machines`); a test fails when a committed file differs
 * from what this produces.
 */
import { type ChartName, chartMermaid, chartModel, MACHINES } from './chart.js';
import { layoutChart } from './chart-layout.js';
import { chartSvg } from './chart-svg.js';

/** A line about a machine; one with none here uses its definition's `description`, if any. */
const INTRO: Partial<Readonly<Record<ChartName, string>>> = {
  session:
    "One request's life. The runtime sends `session.tick` when the earliest deadline in context comes; " +
    '`startProviderCall` / `abortProviderCall` are the effects at the edge (leaving `attempt` for any reason aborts the call).',
  supervisor:
    "The runtime's lifecycle. Admission (priorities, limits, fairness) is the scheduler's pure policy, not transitions here.",
  provider:
    "A provider's cooldown after a `RATE_LIMITED` answer (`docs/runtime.md`, Limits): one per provider, or one per model for a vendor that limits each model apart (GLM, `cooldownScope: 'model'`). Its snapshot is what the shared state stores (`limits:<provider>`, or `cooldown:<provider>:<model>`).",
  breaker:
    "One provider's circuit breaker (`breakers: {...}`): failures (5xx, network, timeouts) within the window open it; open, calls fail fast with `PROVIDER_UNAVAILABLE`; the first call after `openUntil` is the probe, whose answer closes it. Its snapshot is what the shared state stores (one per provider, shared on Redis).",
};

/** The generated files, by path relative to `docs/`, in a stable order. */
export async function machinesDocs(): Promise<ReadonlyMap<string, string>> {
  const files = new Map<string, string>([['machines.md', machinesMarkdown()]]);
  for (const [name, machine] of Object.entries(MACHINES)) {
    const model = chartModel(machine);
    files.set(
      `charts/${name}.svg`,
      `${chartSvg(model, await layoutChart(model), { counts: false, standalone: true })}\n`,
    );
  }
  return files;
}

export function machinesMarkdown(): string {
  const out: string[] = [
    '# The machines',
    '',
    '<!-- Generated from machines/*.ts by `npm run docs:machines` (troupe chart --docs docs). Do not edit by hand: a test fails when this file is stale. -->',
    '',
    `Every chart is drawn from the machine definition itself (\`troupe chart ${Object.keys(MACHINES).join('|')}\`),`,
    "laid out by ELK (elkjs, the layout library of Stately's visualizer): each transition is an arrow between its",
    'exact states, no arrow crosses a state box and no label sits on one. `--format svg` prints the chart,',
    "`--format json` the XState definition for Stately's editor and visualiser, `--format mermaid` Mermaid text.",
    'The tables give every transition with its guard and actions.',
    '',
  ];
  for (const [name, machine] of Object.entries(MACHINES)) {
    const model = chartModel(machine);
    const short = (id: string) => id.slice(model.root.length + 1) || id;
    const description = (machine.root as { description?: string }).description;
    const intro = INTRO[name as ChartName] ?? description;
    out.push(`## ${name}`, '');
    if (intro !== undefined) out.push(intro, '');
    out.push(
      `![the ${name} statechart](charts/${name}.svg)`,
      '',
      '<details><summary>Mermaid</summary>',
      '',
      'Mermaid cannot draw an edge between states inside different composite states, so such an edge is drawn',
      'between their ancestors and its label says which state it leaves (`from calling`).',
      '',
      '```mermaid',
      chartMermaid(machine).trimEnd(),
      '```',
      '',
      '</details>',
      '',
    );
    out.push('| from | event | guard | to | actions |', '| --- | --- | --- | --- | --- |');
    for (const t of model.transitions) {
      out.push(
        `| ${short(t.source)} | \`${t.event}\` | ${t.guard ?? ''} | ${t.target === null ? '(stays)' : short(t.target)}${t.reenter === true && t.target === t.source ? ' (re-enters)' : ''} | ${t.actions.join(', ')} |`,
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
