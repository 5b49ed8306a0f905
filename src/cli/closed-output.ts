/**
 * `troupe demo` and `troupe load` write progress for as long as they run: with their output piped
 * to a reader that leaves early (`troupe demo | head`), the next write failed EPIPE, an unhandled
 * 'error' event, so a stack trace and exit 1 (until 2026-12-07). The reader has all it wanted: end
 * quietly, as a pipeline's writer does, with exit code 0.
 */
export function endOnClosedOutput(out: NodeJS.WriteStream = process.stdout): void {
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
}
