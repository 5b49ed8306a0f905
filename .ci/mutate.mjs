// `npm run mutate [-- stryker options]`: runs Stryker (stryker.config.mjs), then prints the mutation
// score of each mutated file from the JSON report and exits non-zero if any file is below the bar.
// Example: `npm run mutate -- --mutate machines/session.ts` measures one file.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MIN_SCORE = Number(process.env.TROUPE_MUTATION_MIN ?? 90);
const REPORT = 'reports/mutation/mutation.json';

const stryker = spawnSync('npx', ['stryker', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
if (stryker.status !== 0) process.exit(stryker.status ?? 1);

const report = JSON.parse(readFileSync(REPORT, 'utf8'));
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const rows = Object.entries(report.files).map(([file, { mutants }]) => {
  const count = (status) => mutants.filter((m) => m.status === status).length;
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const valid = detected + mutants.filter((m) => UNDETECTED.has(m.status)).length;
  // No valid mutant (all ignored or equivalent-marked) counts as fully covered.
  const score = valid === 0 ? 100 : (100 * detected) / valid;
  return {
    file,
    score,
    killed: count('Killed'),
    survived: count('Survived'),
    noCoverage: count('NoCoverage'),
    timeout: count('Timeout'),
    ignored: count('Ignored'),
  };
});

console.log(`\nMutation score per file (bar: ${MIN_SCORE} %)`);
console.log('| file | score | killed | survived | no coverage | timeout | ignored |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows.sort((a, b) => a.file.localeCompare(b.file))) {
  console.log(
    `| \`${r.file}\` | ${r.score.toFixed(1)} % | ${r.killed} | ${r.survived} | ${r.noCoverage} | ${r.timeout} | ${r.ignored} |`,
  );
}
const below = rows.filter((r) => r.score < MIN_SCORE);
if (below.length > 0) {
  console.error(
    `\nExpected every file at ${MIN_SCORE} % or more, got: ${below.map((r) => `${r.file} ${r.score.toFixed(1)} %`).join(', ')}`,
  );
  process.exit(1);
}
