/**
 * `troupe chart session|supervisor|breaker [--format mermaid|json]`: a machine's chart, generated from its
 * definition. `troupe chart --docs` prints `docs/machines.md`.
 */
import { parseArgs } from 'node:util';
import { type ChartName, chartJson, chartMermaid, MACHINES } from '../observe/chart.js';
import { machinesMarkdown } from '../observe/machines-doc.js';
import type { Command } from './main.js';

const USAGE = `Usage: troupe chart session|supervisor|breaker [--format mermaid|json]
       troupe chart --docs

Prints a machine's statechart, generated from its definition.
  --format mermaid  Mermaid stateDiagram-v2 (default)
  --format json     XState's definition (machine.toJSON()), for Stately's tools
  --docs            the whole of docs/machines.md
`;

export const command: Command = {
  summary: 'Print a machine statechart (Mermaid or XState JSON) from its definition',
  async run(argv) {
    let parsed: { values: { format?: string; docs?: boolean; help?: boolean }; positionals: string[] };
    try {
      parsed = parseArgs({
        args: [...argv],
        allowPositionals: true,
        options: {
          format: { type: 'string', short: 'f' },
          docs: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (error) {
      process.stderr.write(`troupe chart: ${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.docs) {
      process.stdout.write(machinesMarkdown());
      return 0;
    }
    const [name, ...extra] = positionals;
    const names = Object.keys(MACHINES);
    if (name === undefined || !names.includes(name) || extra.length > 0) {
      process.stderr.write(
        `troupe chart: expected one machine name, ${names.slice(0, -1).join(', ')} or ${names.at(-1)}, got ${positionals.length === 0 ? 'none' : `"${positionals.join(' ')}"`}\n${USAGE}`,
      );
      return 2;
    }
    const format = values.format ?? 'mermaid';
    if (format !== 'mermaid' && format !== 'json') {
      process.stderr.write(`troupe chart: expected --format mermaid or json, got "${format}"\n`);
      return 2;
    }
    const machine = MACHINES[name as ChartName];
    process.stdout.write(format === 'json' ? chartJson(machine) : chartMermaid(machine));
    return 0;
  },
};
