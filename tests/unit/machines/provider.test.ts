/**
 * The provider's cooldown machine as a user of a rate-limited provider meets it: a 429 pauses the
 * provider until its hint, then one probe; the probe's answer opens it, another 429 cools it down
 * again, and a probe that is neither refused nor answered within PROBE_ACCEPTED_MS was accepted.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COOLDOWN_MS,
  initialProviderSnapshot,
  PROBE_ACCEPTED_MS,
  providerGate,
  providerStep,
} from '../../../machines/provider.js';

const limited = (now: number, retryAfterMs?: number) =>
  providerStep(
    initialProviderSnapshot(),
    retryAfterMs === undefined
      ? { type: 'provider.rateLimited', now }
      : { type: 'provider.rateLimited', now, retryAfterMs },
  );

describe('provider cooldown machine', () => {
  it('waits out the hint (or the default pause), then lets exactly one probe go', () => {
    const cooling = limited(1000, 5000);
    expect(cooling.value).toBe('coolingDown');
    expect(providerGate(cooling, 5999)).toEqual({ kind: 'wait', at: 6000 });
    expect(providerGate(cooling, 6000)).toEqual({ kind: 'probe' });
    expect(providerGate(limited(0), DEFAULT_COOLDOWN_MS - 1).kind).toBe('wait');
    const probing = providerStep(providerStep(cooling, { type: 'provider.tick', now: 6000 }), {
      type: 'provider.probe',
      now: 6000,
      sessionId: 'p',
      lapsesAt: 6000 + PROBE_ACCEPTED_MS,
    });
    expect(probing.value).toBe('probing');
    expect(providerGate(probing, 6001)).toEqual({ kind: 'wait', at: 6000 + PROBE_ACCEPTED_MS, probe: 'p' });
  });

  it('opens on the probe answer, cools down again on another 429', () => {
    const probing = providerStep(providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }), {
      type: 'provider.probe',
      now: 10,
      sessionId: 'p',
      lapsesAt: 10 + PROBE_ACCEPTED_MS,
    });
    expect(providerStep(probing, { type: 'provider.answered', now: 20, sessionId: 'other' }).value).toBe(
      'probing',
    );
    expect(providerStep(probing, { type: 'provider.answered', now: 20, sessionId: 'p' }).value).toBe('open');
    const again = providerStep(probing, { type: 'provider.rateLimited', now: 20, retryAfterMs: 100 });
    expect(again.value).toBe('coolingDown');
    expect(providerGate(again, 119).kind).toBe('wait');
  });

  it('a probe still running past PROBE_ACCEPTED_MS was accepted: the provider opens for the rest', () => {
    const probing = providerStep(providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }), {
      type: 'provider.probe',
      now: 10,
      sessionId: 'long-completion',
      lapsesAt: 10 + PROBE_ACCEPTED_MS,
    });
    expect(providerGate(probing, 10 + PROBE_ACCEPTED_MS - 1).kind).toBe('wait');
    expect(providerGate(probing, 10 + PROBE_ACCEPTED_MS)).toEqual({ kind: 'go' });
  });

  it('a probe that ended unanswered (cancelled) hands the probe to the next session', () => {
    const probing = providerStep(providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }), {
      type: 'provider.probe',
      now: 10,
      sessionId: 'p',
      lapsesAt: 10 + PROBE_ACCEPTED_MS,
    });
    const ended = providerStep(probing, { type: 'provider.probeEnded', now: 11, sessionId: 'p' });
    expect(providerGate(ended, 12)).toEqual({ kind: 'probe' });
  });

  it('a 429 while cooling down extends the pause to the later end, never shortens it', () => {
    const cooling = limited(0, 5000);
    const longer = providerStep(cooling, { type: 'provider.rateLimited', now: 100, retryAfterMs: 9000 });
    expect(longer.value).toBe('coolingDown');
    expect(longer.context.until).toBe(9100);
    const shorter = providerStep(cooling, { type: 'provider.rateLimited', now: 100, retryAfterMs: 1000 });
    expect(shorter.context.until).toBe(5000);
    // One pause, extended: it counts once.
    expect(longer.context.cooldowns).toBe(1);
  });

  it('counts each cooldown; the probe answer clears the pause and the probe', () => {
    const probing = providerStep(providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }), {
      type: 'provider.probe',
      now: 10,
      sessionId: 'p',
      lapsesAt: 10 + PROBE_ACCEPTED_MS,
    });
    const again = providerStep(probing, { type: 'provider.rateLimited', now: 20, retryAfterMs: 5 });
    expect(again.context.cooldowns).toBe(2);
    const answered = providerStep(probing, { type: 'provider.answered', now: 20, sessionId: 'p' });
    expect(answered).toEqual({
      value: 'open',
      context: { until: null, probe: null, probeLapsesAt: null, probeAcceptedAt: null, cooldowns: 1 },
    });
  });

  it('one probe at a time: a second probe while one is out is ignored', () => {
    const probe = (sessionId: string) => ({
      type: 'provider.probe' as const,
      now: 10,
      sessionId,
      lapsesAt: 10 + PROBE_ACCEPTED_MS,
    });
    const probing = providerStep(
      providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }),
      probe('p'),
    );
    expect(providerStep(probing, probe('q')).context.probe).toBe('p');
    expect(initialProviderSnapshot()).toEqual({
      value: 'open',
      context: { until: null, probe: null, probeLapsesAt: null, probeAcceptedAt: null, cooldowns: 0 },
    });
  });

  it("only the probe's own end hands the probe on: another session's end leaves it out", () => {
    const probing = providerStep(providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }), {
      type: 'provider.probe',
      now: 10,
      sessionId: 'p',
      lapsesAt: 10 + PROBE_ACCEPTED_MS,
    });
    const other = providerStep(probing, { type: 'provider.probeEnded', now: 11, sessionId: 'q' });
    expect(other.context.probe).toBe('p');
    expect(providerGate(other, 12)).toEqual({ kind: 'wait', at: 10 + PROBE_ACCEPTED_MS, probe: 'p' });
  });

  it("a probe whose session's run deadline passed before PROBE_ACCEPTED_MS hands the probe to the next session", () => {
    // Its session timed out (or its instance was lost) without an answer: nothing says the
    // provider takes calls again, so one more session probes; the rest still wait.
    const probing = providerStep(providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }), {
      type: 'provider.probe',
      now: 10,
      sessionId: 'p',
      lapsesAt: 500,
    });
    expect(probing.context.probeAcceptedAt).toBe(10 + PROBE_ACCEPTED_MS);
    expect(providerGate(probing, 499)).toEqual({ kind: 'wait', at: 500, probe: 'p' });
    expect(providerGate(probing, 500)).toEqual({ kind: 'probe' });
    const lapsed = providerStep(probing, { type: 'provider.tick', now: 500 });
    expect(lapsed).toEqual({
      value: 'probing',
      context: { until: 10, probe: null, probeLapsesAt: null, probeAcceptedAt: null, cooldowns: 1 },
    });
    // The next probe is timed from its own start.
    const next = providerStep(lapsed, { type: 'provider.probe', now: 500, sessionId: 'q', lapsesAt: 5000 });
    expect(providerGate(next, 500 + PROBE_ACCEPTED_MS - 1)).toEqual({
      kind: 'wait',
      at: 500 + PROBE_ACCEPTED_MS,
      probe: 'q',
    });
    expect(providerGate(next, 500 + PROBE_ACCEPTED_MS)).toEqual({ kind: 'go' });
  });

  describe('told late: the outcome does not hang on whether a tick or the probe’s end comes first', () => {
    // A simulated clock tells every timer within an advance at its end, and an instance may tell an
    // end late: the probe started at 10 (accepted at 10 + PROBE_ACCEPTED_MS), both told at 5000.
    const probeUntil = (lapsesAt: number) =>
      providerStep(providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }), {
        type: 'provider.probe',
        now: 10,
        sessionId: 'p',
        lapsesAt,
      });
    const tickThenEnd = (s: ReturnType<typeof limited>, now: number) =>
      providerStep(providerStep(s, { type: 'provider.tick', now }), {
        type: 'provider.probeEnded',
        now,
        sessionId: 'p',
      });
    const endThenTick = (s: ReturnType<typeof limited>, now: number) =>
      providerStep(providerStep(s, { type: 'provider.probeEnded', now, sessionId: 'p' }), {
        type: 'provider.tick',
        now,
      });

    it('a probe whose run deadline came before its acceptance time is never accepted: a tick past both hands it on', () => {
      const lapsing = probeUntil(500);
      expect(providerGate(lapsing, 5000)).toEqual({ kind: 'probe' });
      expect(providerStep(lapsing, { type: 'provider.tick', now: 5000 })).toEqual({
        value: 'probing',
        context: { until: 10, probe: null, probeLapsesAt: null, probeAcceptedAt: null, cooldowns: 1 },
      });
      expect(providerStep(lapsing, { type: 'provider.probeEnded', now: 5000, sessionId: 'p' }).value).toBe(
        'probing',
      );
      expect(tickThenEnd(lapsing, 5000)).toEqual(endThenTick(lapsing, 5000));
    });

    it('one millisecond short of its acceptance time is short: the probe is handed on', () => {
      const lapsing = probeUntil(10 + PROBE_ACCEPTED_MS - 1);
      expect(providerGate(lapsing, 10 + PROBE_ACCEPTED_MS)).toEqual({ kind: 'probe' });
      expect(tickThenEnd(lapsing, 10 + PROBE_ACCEPTED_MS).value).toBe('probing');
      expect(endThenTick(lapsing, 10 + PROBE_ACCEPTED_MS).value).toBe('probing');
    });

    it('a probe still running at its acceptance time whose end is told after it opens the provider, as a tick would', () => {
      const running = probeUntil(60_000);
      const opened = {
        value: 'open',
        context: { until: null, probe: null, probeLapsesAt: null, probeAcceptedAt: null, cooldowns: 1 },
      };
      expect(providerStep(running, { type: 'provider.probeEnded', now: 5000, sessionId: 'p' })).toEqual(
        opened,
      );
      expect(tickThenEnd(running, 5000)).toEqual(opened);
      expect(endThenTick(running, 5000)).toEqual(opened);
      // Told at its acceptance time exactly: accepted; a millisecond before: handed on.
      expect(
        providerStep(running, { type: 'provider.probeEnded', now: 10 + PROBE_ACCEPTED_MS, sessionId: 'p' })
          .value,
      ).toBe('open');
      const early = providerStep(running, {
        type: 'provider.probeEnded',
        now: 10 + PROBE_ACCEPTED_MS - 1,
        sessionId: 'p',
      });
      expect(providerGate(early, 10 + PROBE_ACCEPTED_MS)).toEqual({ kind: 'probe' });
    });

    it('whose run deadline is its acceptance time exactly: accepted', () => {
      const running = probeUntil(10 + PROBE_ACCEPTED_MS);
      expect(providerStep(running, { type: 'provider.probeEnded', now: 5000, sessionId: 'p' }).value).toBe(
        'open',
      );
      expect(providerGate(running, 10 + PROBE_ACCEPTED_MS)).toEqual({ kind: 'go' });
    });

    it('another session’s end told late leaves the probe as it was', () => {
      const running = probeUntil(60_000);
      expect(providerStep(running, { type: 'provider.probeEnded', now: 5000, sessionId: 'q' })).toEqual(
        running,
      );
    });
  });

  it('a probe stored by an older version (no probeAcceptedAt) opens the provider when it lapses', () => {
    const old = {
      value: 'probing' as const,
      context: { until: 10, probe: 'p', probeLapsesAt: 500, cooldowns: 1 },
    };
    expect(providerGate(old, 499)).toEqual({ kind: 'wait', at: 500, probe: 'p' });
    expect(providerGate(old, 500)).toEqual({ kind: 'go' });
    // Its end told at or past its lapse opens it too, as its tick would; told before, hands it on.
    expect(providerStep(old, { type: 'provider.probeEnded', now: 500, sessionId: 'p' }).value).toBe('open');
    const early = providerStep(old, { type: 'provider.probeEnded', now: 499, sessionId: 'p' });
    expect(providerGate(early, 600)).toEqual({ kind: 'probe' });
  });

  it('a lapsed probe opens the provider with nothing left of the cooldown or the probe', () => {
    const probing = providerStep(providerStep(limited(0, 10), { type: 'provider.tick', now: 10 }), {
      type: 'provider.probe',
      now: 10,
      sessionId: 'p',
      lapsesAt: 10 + PROBE_ACCEPTED_MS,
    });
    expect(providerStep(probing, { type: 'provider.tick', now: 10 + PROBE_ACCEPTED_MS })).toEqual({
      value: 'open',
      context: { until: null, probe: null, probeLapsesAt: null, probeAcceptedAt: null, cooldowns: 1 },
    });
  });
});
