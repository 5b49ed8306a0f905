/**
 * The repository's default for `expect.poll` (vitest's own is a 1 s timeout, every 50 ms), set in
 * `vitest.config.ts` and `vitest.stryker.config.ts`.
 *
 * A poll waits for something a real server, child process or Redis does; on a loaded machine that
 * can take well over a second, and a 1 s default turned each poll without a timeout of its own into
 * a race the test had not meant to run. The timeout only matters when the condition does not come:
 * a poll that passes returns as soon as it holds. 10 s is a third of the 30 s test timeout, so a
 * condition that never comes still fails on its poll, naming it, not on the test's timeout.
 * A poll meant to bound a wait (it must hold within some time) gives its own `timeout`.
 */
export const expectPoll = { timeout: 10_000, interval: 50 } as const;
