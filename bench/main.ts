/**
 * `npm run bench -- <name> [--json]`: benchmarks print figures as ratios against a baseline
 * measured in the same run. Not tests: nothing here asserts a speed.
 */
const BENCHES: Readonly<Record<string, () => Promise<{ run(argv: readonly string[]): Promise<void> }>>> = {
  runtime: () => import('./runtime.js'),
  scale: () => import('./scale.js'),
  mcp: () => import('./mcp.js'),
  depth: () => import('./depth.js'),
  stdio: () => import('./stdio.js'),
  'stdio-lean': () => import('./stdio-lean.js'),
  toolcall: () => import('./toolcall.js'),
  stream: () => import('./stream.js'),
  http: () => import('./http.js'),
  routing: () => import('./routing.js'),
  tracing: () => import('./tracing.js'),
  state: () => import('./shared-state.js'),
  conversations: () => import('./conversations.js'),
  mix: () => import('./mix.js'),
  nested: () => import('./nested.js'),
  cancellations: () => import('./cancellations.js'),
  startup: () => import('./startup.js'),
};

const [name = 'runtime', ...rest] = process.argv.slice(2);
const load = BENCHES[name];
if (load === undefined) {
  process.stderr.write(`bench: unknown benchmark "${name}"; one of ${Object.keys(BENCHES).join(', ')}\n`);
  process.exitCode = 2;
} else {
  load().then(
    (bench) => bench.run(rest),
    () => {
      process.stderr.write(`bench: "${name}" is not available in this build\n`);
      process.exitCode = 2;
    },
  );
}
