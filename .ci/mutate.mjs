// `npm run mutate [-- group... ] [-- stryker options]`: one Stryker run per group of files
// (.ci/mutation-groups.mjs), then the mutation score of each file from the JSON reports; exits
// non-zero if any file is below the bar. `npm run mutate -- machines` runs one group;
// `npm run mutate -- core --mutate src/core/errors.ts` one file of it (its incremental file then
// keeps only that file: run the whole group before committing it).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { GROUPS } from './mutation-groups.mjs';

const MIN_SCORE = Number(process.env.TROUPE_MUTATION_MIN ?? 90);
const args = process.argv.slice(2);
const named = args.filter((a) => a in GROUPS);
const strykerArgs = args.filter((a) => !(a in GROUPS));
const groups = named.length > 0 ? named : Object.keys(GROUPS);

const rows = [];
for (const group of groups) {
  const started = Date.now();
  const run = spawnSync('npx', ['stryker', 'run', ...strykerArgs], {
    stdio: 'inherit',
    env: { ...process.env, ...GROUPS[group].env, TROUPE_MUTATE_GROUP: group },
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
  console.log(`group ${group}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const report = JSON.parse(readFileSync(`reports/mutation/${group}.json`, 'utf8'));
  for (const [file, { mutants }] of Object.entries(report.files)) rows.push(score(file, mutants));
}

function score(file, mutants) {
  const count = (status) => mutants.filter((m) => m.status === status).length;
  const killed = count('Killed');
  const timeout = count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const valid = killed + timeout + survived + noCoverage;
  // Stryker's mutation score: detected (killed or timed out) over valid mutants.
  const value = valid === 0 ? 100 : (100 * (killed + timeout)) / valid;
  return { file, value, killed, survived, noCoverage, timeout, ignored: count('Ignored') };
}

console.log(`\nMutation score per file (bar: ${MIN_SCORE} %)`);
console.log('| file | score | killed | survived | no coverage | timeout | marked equivalent |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows.sort((a, b) => a.file.localeCompare(b.file))) {
  console.log(
    `| \`${r.file}\` | ${r.value.toFixed(1)} % | ${r.killed} | ${r.survived} | ${r.noCoverage} | ${r.timeout} | ${r.ignored} |`,
  );
}
const below = rows.filter((r) => r.value < MIN_SCORE);
if (below.length > 0) {
  const list = below.map((r) => `${r.file} ${r.value.toFixed(1)} %`).join(', ');
  console.error(`\nExpected every file at ${MIN_SCORE} % or more, got: ${list}`);
  process.exit(1);
}
