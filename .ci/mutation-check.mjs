// `node .ci/mutation-check.mjs [--run-stale]`: the mutation score per file from the committed
// incremental reports (reports/stryker-incremental-<group>.json), without running Stryker.
//
// A group's report is *stale* when one of its files, or a test file that killed one of its mutants,
// differs from what the report measured (or a file of the group was never measured). With `--run-stale` each
// stale group is re-run incrementally (`npm run mutate -- <group>`: only the changed mutants and
// those the changed tests cover run), which rewrites its report; then the check runs again.
//
// Exits non-zero when a group is stale (without `--run-stale`) or a file scores below the bar
// (TROUPE_MUTATION_MIN, default 90) and is not listed in BELOW_BAR with the reason.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { BELOW_BAR, GROUPS } from './mutation-groups.mjs';

const MIN_SCORE = Number(process.env.TROUPE_MUTATION_MIN ?? 90);

/** Expands the patterns the groups use (`*` within a segment, `**` for any depth). */
function expand(patterns) {
  const all = [];
  for (const pattern of patterns) {
    if (!pattern.includes('*')) {
      if (existsSync(pattern)) all.push(pattern);
      continue;
    }
    const root = pattern
      .slice(0, pattern.indexOf('*'))
      .replace(/[^/]*$/, '')
      .replace(/\/$/, '');
    const regex = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '§')
        .replace(/\*/g, '[^/]*')
        .replace(/§/g, '(?:.*/)?')}$`,
    );
    for (const entry of readdirSync(root, { recursive: true })) {
      const path = `${root}/${entry}`;
      if (regex.test(path)) all.push(path);
    }
  }
  return [...new Set(all)].sort();
}

function read(path) {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

function check(group) {
  const { mutate, tests } = GROUPS[group];
  const reportPath = `reports/stryker-incremental-${group}.json`;
  const text = read(reportPath);
  if (text === undefined) return { group, stale: [`${reportPath} (missing)`], rows: [] };
  const report = JSON.parse(text);
  const stale = [];
  const rows = [];
  for (const file of expand(mutate)) {
    const measured = report.files[file];
    if (measured === undefined) stale.push(`${file} (never measured)`);
    else if (measured.source !== read(file)) stale.push(`${file} (changed)`);
    if (measured !== undefined) rows.push(score(file, measured.mutants));
  }
  const current = new Set(expand(tests));
  // Only a test that killed a mutant can lose a kill when its file changes or goes; a new test,
  // or one that killed nothing, can only add kills.
  const killers = new Set(
    Object.values(report.files).flatMap(({ mutants }) => mutants.flatMap((m) => m.killedBy ?? [])),
  );
  for (const [file, { source, tests: run }] of Object.entries(report.testFiles ?? {})) {
    if (!run.some((test) => killers.has(test.id))) continue;
    if (!current.has(file)) stale.push(`${file} (test removed)`);
    else if (source !== read(file)) stale.push(`${file} (test changed)`);
  }
  return { group, stale, rows };
}

function score(file, mutants) {
  const count = (status) => mutants.filter((m) => m.status === status).length;
  const detected = count('Killed') + count('Timeout');
  const valid = detected + count('Survived') + count('NoCoverage');
  return {
    file,
    value: valid === 0 ? 100 : (100 * detected) / valid,
    survived: count('Survived'),
    noCoverage: count('NoCoverage'),
    ignored: count('Ignored'),
  };
}

let results = Object.keys(GROUPS).map(check);
if (process.argv.includes('--run-stale')) {
  for (const { group, stale } of results.filter((r) => r.stale.length > 0)) {
    console.log(`group ${group} is stale (${stale.join(', ')}): running it incrementally`);
    const run = spawnSync('npm', ['run', 'mutate', '--', group], {
      stdio: 'inherit',
      env: { ...process.env, TROUPE_MUTATION_MIN: '0' },
    });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
  results = Object.keys(GROUPS).map(check);
}

console.log(`Mutation score per file, from the committed reports (bar: ${MIN_SCORE} %)`);
const failures = [];
for (const { group, stale, rows } of results) {
  for (const r of rows) {
    const below = r.value < MIN_SCORE;
    const excused = below && BELOW_BAR[r.file] !== undefined;
    const mark = below ? (excused ? `below the bar: ${BELOW_BAR[r.file]}` : 'BELOW THE BAR') : '';
    console.log(
      `${group.padEnd(16)} ${r.file.padEnd(44)} ${r.value.toFixed(1).padStart(5)} %  survived ${r.survived}, no coverage ${r.noCoverage}, marked ${r.ignored}  ${mark}`,
    );
    if (below && !excused) failures.push(`${r.file} ${r.value.toFixed(1)} %`);
  }
  if (stale.length > 0) {
    failures.push(
      `group ${group} is stale: ${stale.join(', ')}; run \`npm run mutate -- ${group}\` and commit reports/stryker-incremental-${group}.json`,
    );
  }
}
for (const [file, reason] of Object.entries(BELOW_BAR)) {
  const row = results.flatMap((r) => r.rows).find((r) => r.file === file);
  if (row !== undefined && row.value >= MIN_SCORE) {
    failures.push(`${file} is at ${row.value.toFixed(1)} %: remove it from BELOW_BAR (${reason})`);
  }
}
if (failures.length > 0) {
  console.error(`\n${failures.join('\n')}`);
  process.exit(1);
}
