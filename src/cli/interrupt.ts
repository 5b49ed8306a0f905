/**
 * Ctrl-C for the commands that print a summary at the end (`demo`, `load`): the first SIGINT ends
 * the run early so the summary so far is printed; a second one exits at once.
 */
export function onceInterrupted(): { signalled: Promise<'interrupted'>; dispose(): void } {
  let count = 0;
  let resolve: (value: 'interrupted') => void = () => {};
  const signalled = new Promise<'interrupted'>((r) => {
    resolve = r;
  });
  const onSignal = () => {
    count++;
    if (count > 1) process.exit(130);
    resolve('interrupted');
  };
  process.on('SIGINT', onSignal);
  return {
    signalled,
    dispose: () => {
      // Keep catching a second Ctrl-C while the summary is written; the default returns with exit.
      if (count === 0) process.off('SIGINT', onSignal);
    },
  };
}
