/**
 * The names of the invariants checked beside `RuntimeObserver`'s own (`invariants.ts` lists them
 * all as `InvariantName`), each in the file that checks it.
 */
export type ModelInvariantName =
  /** In `turn-invariants.ts`: callers take turns within a priority (depth, then arrival). */
  | 'callerTurns'
  /** In `turn-invariants.ts`: every `fairnessEvery`th admission of a provider takes its longest-waiting session. */
  | 'fairnessTurn'
  /** In `turn-invariants.ts`: a session with k older ahead is admitted within (k + 1) × `fairnessEvery` admissions. */
  | 'starvationBound'
  /** In `history-invariants.ts`: the history keeps the sessions its eviction rule keeps, newest first. */
  | 'historyEviction'
  /** In `work-invariants.ts`: no session waits in the queue while every limit it waits for has room. */
  | 'workConserved'
  /** In `turn-invariants.ts`: an admission takes, of the providers' next sessions that could start, the one of the highest priority, then lowest depth, then earliest arrival. */
  | 'providerOrder'
  /** In `slot-invariants.ts`: `status()` shows the sessions running, each provider's slots, what is left of its own limits (calls, requests, tokens) and its cooldown as the events count them. */
  | 'statusCounts'
  /** In `work-invariants.ts`: a 429's cooldown lasts its hint (seconds or an HTTP date; 1 s without one; 10 minutes at most). */
  | 'cooldownHint'
  /** In `work-invariants.ts`: a stream quiet for its `idleTimeoutMs` has timed out or moved on by then. */
  | 'idleTimeout'
  /** In `breaker-invariants.ts`: a call starts past its provider's breaker exactly when the model's copy of that breaker lets it. */
  | 'breakerHolds'
  /** In `lending-seen.ts`: a session ends cancelled only when its handle or a shutdown cancelled it (a parent's end leaves its child running). */
  | 'cancelledWhenAsked'
  /** In `lending-seen.ts`: once every session ended, a fresh session on a provider with room starts at once (no slot left lent or borrowed). */
  | 'slotsFreed';
