/**
 * `OpenPosts` (`http-cancelled.ts`) knows which requests of an open 2025-era POST are answered, so a
 * POST that closes before its last answer cancels only the others (answered-batch-ids.test.ts has
 * it over HTTP).
 */
import { describe, expect, it } from 'vitest';
import { OpenPosts } from '../../../src/mcp/http-cancelled.js';
import { InFlightIds } from '../../../src/mcp/in-flight-ids.js';

const request = (id: string | number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: {} });
const answer = (id: string | number) => ({ jsonrpc: '2.0' as const, id, result: {} });

describe('OpenPosts', () => {
  it('gives back, on release, the ids of the POST not answered', () => {
    const inFlight = new InFlightIds();
    const posts = new OpenPosts(inFlight);
    expect(posts.hold([1, 'b', 3], [request(1), request('b'), request(3)])).toBeUndefined();
    posts.answered(answer('b'));
    // A notification names no request; an answer to no open POST's request is not kept.
    posts.answered({ jsonrpc: '2.0', method: 'notifications/progress', params: {} } as never);
    posts.answered(answer(9));
    expect(inFlight.size).toBe(2);
    expect(posts.release([1, 'b', 3], false)).toEqual([1, 3]);
    // 9's answer came while no POST held it: its request, when it comes, is not answered yet.
    posts.hold([9], request(9));
    expect(posts.release([9], false)).toEqual([9]);
  });

  it('forgets an answered id once its POST is released: sent again, it counts as unanswered', () => {
    const posts = new OpenPosts(new InFlightIds());
    posts.hold([1], request(1));
    posts.answered(answer(1));
    expect(posts.release([1], false)).toEqual([]);
    // The id's next request (MCP forbids it, a client may): not answered yet.
    expect(posts.hold([1], request(1))).toBeUndefined();
    expect(posts.release([1], false)).toEqual([1]);
  });

  it('gives every id back as unanswered for a POST refused whole, and frees them', () => {
    const inFlight = new InFlightIds();
    const posts = new OpenPosts(inFlight);
    posts.hold([1, 2], [request(1), request(2)]);
    expect(posts.release([1, 2], true)).toEqual([1, 2]);
    expect(inFlight.size).toBe(0);
  });
});
