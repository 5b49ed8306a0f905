/**
 * Kimi K3's reasoning depth over real HTTP, through the preset against the local server in Kimi
 * mode: the top-level `reasoning_effort`, `low`, `high` or `max` (the Kimi help center and the K3
 * model card, docs/providers.md [K18]); another level is refused before sending (a third party
 * reports Moonshot ignoring one, so the call would run at `max`); the depth given as
 * `thinking.effort`, Moonshot's own client's form, goes out in the documented field; other Kimi
 * models are not judged on it.
 */
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/providers/port.js';
import { chatBodies, run, useVendorRigs } from '../../support/vendor-rig.js';

const KEY = 'sk-kimi-k3-effort-0123456789abcdef';
const rig = useVendorRigs(KEY);
const user = (content: string): ChatMessage => ({ role: 'user', content });

describe('kimi-k3: reasoning_effort', () => {
  it.each(['low', 'high', 'max'])('sends `%s` at the top level as given', async (effort) => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k3',
      extra: { reasoning_effort: effort },
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body?.reasoning_effort).toBe(effort);
    expect(body).not.toHaveProperty('thinking');
    expect(result.metadata.notes ?? []).toEqual([]);
  });

  it.each([['medium'], ['xhigh'], [''], [3]])(
    'refuses `%s` before sending, naming the levels',
    async (effort) => {
      const r = await rig('kimi');
      const result = await run(r, {
        provider: 'kimi',
        model: 'kimi-k3',
        extra: { reasoning_effort: effort },
        messages: [user('q')],
      });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('INVALID_REQUEST');
      expect(result.error.message).toMatch(
        /^Expected `reasoning_effort` for kimi model `kimi-k3` to be `low`, `high` or `max` \(the levels Moonshot documents for K3; `max` is its default\), got /,
      );
      expect(chatBodies(r)).toHaveLength(0);
    },
  );

  it('sends a depth given as `thinking.effort` as `reasoning_effort`, with a note, and no `thinking`', async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k3',
      extra: { thinking: { type: 'enabled', effort: 'low' } },
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    const [body] = chatBodies(r);
    expect(body?.reasoning_effort).toBe('low');
    expect(body).not.toHaveProperty('thinking');
    expect(result.metadata.notes).toEqual([
      'sent `thinking.effort` as `reasoning_effort`: `kimi-k3` takes its depth in that top-level field',
      'dropped `thinking`: kimi-k3 always thinks; its depth is `reasoning_effort` (in `extra`), and the parameter is not sent',
    ]);
  });

  it('keeps a top-level `reasoning_effort` over a `thinking.effort`, and judges a bad `thinking.effort`', async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k3',
      extra: { reasoning_effort: 'high', thinking: { type: 'enabled', effort: 'low' } },
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)[0]?.reasoning_effort).toBe('high');
    const bad = await run(r, {
      provider: 'kimi',
      model: 'kimi-k3',
      extra: { thinking: { type: 'enabled', effort: 'medium' } },
      messages: [user('q')],
    });
    expect(!bad.ok && bad.error.code).toBe('INVALID_REQUEST');
    expect(chatBodies(r)).toHaveLength(1);
  });

  it('does not judge it on other Kimi models (the vendor documents it for K3 only)', async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      extra: { reasoning_effort: 'medium' },
      messages: [user('q')],
    });
    expect(result.ok).toBe(true);
    expect(chatBodies(r)[0]?.reasoning_effort).toBe('medium');
  });
});
