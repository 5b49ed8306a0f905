/**
 * `troupe chart <machine> [--format mermaid|json|svg]`: a machine's chart, generated from its
 * definition (SVG laid out by ELK). `troupe chart --docs DIR` writes DIR/machines.md and
 * DIR/charts/<machine>.svg.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ChartName, chartJson, chartMermaid, chartModel, MACHINES } from '../observe/chart.js';
import { layoutChart } from '../observe/chart-layout.js';
import { chartSvg } from '../observe/chart-svg.js';
import { machinesDocs } from '../observe/machines-doc.js';
import type { Command } from './main.js';
import { usageMessage } from './usage-error.js';

const NAMES = Object.keys(MACHINES);

const USAGE = `Usage: troupe chart ${NAMES.join('|')} [--format mermaid|json|svg]
       troupe chart --docs DIR

Prints a machine's statechart, generated from its definition.
  --format mermaid  Mermaid stateDiagram-v2 (default)
  --format json     XState's definition (machine.toJSON()), for Stately's tools
  --format svg      the chart laid out by ELK, as a standalone SVG
  --docs DIR        writes DIR/machines.md and DIR/charts/<machine>.svg (npm run docs:machines)
`;

export const command: Command = {
  summary: 'Print a machine statechart (Mermaid, XState JSON or SVG) from its definition',
  async run(argv) {
    let parsed: { values: { format?: string; docs?: string; help?: boolean }; positionals: string[] };
    try {
      parsed = parseArgs({
        args: [...argv],
        allowPositionals: true,
        options: {
          format: { type: 'string', short: 'f' },
          docs: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (error) {
      process.stderr.write(`troupe chart: ${usageMessage('chart', error)}\n`);
      return 2;
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.docs !== undefined) {
      if (positionals.length > 0) {
        process.stderr.write(`troupe chart: --docs takes no machine name, got "${positionals.join(' ')}"\n`);
        return 2;
      }
      // A file there read as "troupe: EEXIST: file already exists, mkdir '...'".
      const there = await stat(values.docs).catch(() => undefined);
      if (there !== undefined && !there.isDirectory()) {
        process.stderr.write(
          `troupe chart: Expected \`--docs\` to be a directory, got the file ${values.docs}\n`,
        );
        return 2;
      }
      for (const [path, text] of await machinesDocs()) {
        const file = join(values.docs, path);
        try {
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, text);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? String(error);
          process.stderr.write(`troupe chart: cannot write ${file}: ${code}\n`);
          return 1;
        }
        process.stderr.write(`troupe chart: wrote ${file}\n`);
      }
      return 0;
    }
    const [name, ...extra] = positionals;
    if (name === undefined || !NAMES.includes(name) || extra.length > 0) {
      process.stderr.write(
        `troupe chart: Expected one machine name, ${NAMES.join(' or ')}, got ${positionals.length === 0 ? 'none' : `"${positionals.join(' ')}"`}\n${USAGE}`,
      );
      return 2;
    }
    const format = values.format ?? 'mermaid';
    if (format !== 'mermaid' && format !== 'json' && format !== 'svg') {
      process.stderr.write(
        `troupe chart: Expected \`--format\` to be mermaid, json or svg, got "${format}"\n`,
      );
      return 2;
    }
    const machine = MACHINES[name as ChartName];
    if (format === 'svg') {
      const model = chartModel(machine);
      process.stdout.write(
        `${chartSvg(model, await layoutChart(model), { counts: false, standalone: true })}\n`,
      );
    } else process.stdout.write(format === 'json' ? chartJson(machine) : chartMermaid(machine));
    return 0;
  },
};
