/**
 * `ListenInterest` decides whether `troupe stdio` builds a resource update at all for a 2026-07-28
 * client: it must say yes for every URI an open listen stream named, and no once nobody listens.
 */
import { describe, expect, it } from 'vitest';
import { ListenInterest, MAX_LISTENS, MAX_URIS } from '../../../src/mcp/listen-interest.js';

const listen = (id: unknown, resourceSubscriptions?: unknown) => ({
  jsonrpc: '2.0',
  id,
  method: 'subscriptions/listen',
  params: { notifications: { toolsListChanged: true, resourceSubscriptions } },
});
const cancel = (requestId: unknown) => ({
  jsonrpc: '2.0',
  method: 'notifications/cancelled',
  params: { requestId },
});

describe('ListenInterest', () => {
  it('wants exactly the URIs of open listen requests, until each is cancelled', () => {
    const interest = new ListenInterest();
    expect(interest.wants('troupe://sessions')).toBe(false);
    interest.observe(listen(7, ['troupe://sessions/a']));
    interest.observe([listen('x', ['troupe://sessions', 'troupe://sessions/b']), { jsonrpc: '2.0', id: 1 }]);
    expect(interest.wants('troupe://sessions/a')).toBe(true);
    expect(interest.wants('troupe://sessions/b')).toBe(true);
    expect(interest.wants('troupe://sessions')).toBe(true);
    expect(interest.wants('troupe://sessions/c')).toBe(false);
    // A cancelled call that is not a listen stream changes nothing; ids keep their type.
    interest.observe(cancel('7'));
    expect(interest.wants('troupe://sessions/a')).toBe(true);
    interest.observe(cancel(7));
    expect(interest.wants('troupe://sessions/a')).toBe(false);
    expect(interest.wants('troupe://sessions/b')).toBe(true);
    interest.observe(cancel('x'));
    expect(interest.size).toBe(0);
    expect(interest.wants('troupe://sessions')).toBe(false);
  });

  it('ignores listen requests without resource URIs, and anything that is not a message', () => {
    const interest = new ListenInterest();
    interest.observe(listen(1));
    interest.observe(listen(2, []));
    interest.observe({ jsonrpc: '2.0', method: 'subscriptions/listen', params: { notifications: {} } });
    for (const junk of [null, 42, 'text', [null], { method: 'notifications/cancelled' }])
      interest.observe(junk);
    expect(interest.size).toBe(0);
  });

  it('is bounded: past its caps it keeps nothing and wants every update', () => {
    const many = new ListenInterest();
    for (let id = 0; id < MAX_LISTENS; id++) many.observe(listen(id, [`troupe://sessions/${id}`]));
    expect(many.wants('troupe://sessions/other')).toBe(false);
    many.observe(listen('one more', ['troupe://sessions/x']));
    expect(many.size).toBe(0);
    expect(many.wants('troupe://sessions/other')).toBe(true);
    many.observe(cancel('one more'));
    expect(many.wants('troupe://sessions/other'), 'stays open-handed').toBe(true);

    const wide = new ListenInterest();
    wide.observe(
      listen(
        1,
        Array.from({ length: MAX_URIS }, (_, i) => `u${i}`),
      ),
    );
    expect(wide.wants('v')).toBe(false);
    // The same id again replaces its URIs instead of adding them.
    wide.observe(
      listen(
        1,
        Array.from({ length: MAX_URIS }, (_, i) => `w${i}`),
      ),
    );
    expect(wide.wants('u0')).toBe(false);
    expect(wide.wants('w0')).toBe(true);
    wide.observe(listen(2, ['one too many']));
    expect(wide.size).toBe(0);
    expect(wide.wants('v')).toBe(true);
  });
});

describe('ListenInterest.wantsAny', () => {
  it('is true exactly while some listen stream named a URI, or past the bounds', () => {
    const interest = new ListenInterest();
    expect(interest.wantsAny()).toBe(false);
    interest.observe(listen(1, []));
    expect(interest.wantsAny()).toBe(false);
    interest.observe(listen(2, ['troupe://sessions']));
    expect(interest.wantsAny()).toBe(true);
    interest.observe(cancel(2));
    expect(interest.wantsAny()).toBe(false);
    for (let i = 0; i <= MAX_LISTENS; i++) interest.observe(listen(i, ['troupe://sessions']));
    expect(interest.size).toBe(0);
    expect(interest.wantsAny()).toBe(true);
  });
});
