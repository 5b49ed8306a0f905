/**
 * The owners index of the MCP front's sessions (`SessionOwners`, `src/mcp/caller.ts`): bounded, the
 * oldest entry going first; an id it no longer holds is read from the runtime's summary, so a
 * caller keeps seeing its own session after the index forgot it; `local` is never kept.
 */
import { describe, expect, it } from 'vitest';
import { canSee, SessionOwners, sessionOwnersOf } from '../../../src/mcp/caller.js';

describe('SessionOwners', () => {
  it('holds at most its bound, forgetting the oldest entry first', () => {
    const owners = new SessionOwners(3);
    for (const id of ['s1', 's2', 's3']) owners.record(id, `token:${id}`);
    expect(owners.size).toBe(3);
    owners.record('s4', 'token:s4');
    expect(owners.size).toBe(3);
    expect(owners.ownerOf('s1')).toBeUndefined();
    expect(['s2', 's3', 's4'].map((id) => owners.ownerOf(id))).toEqual(['token:s2', 'token:s3', 'token:s4']);
  });

  it('reads an id it does not hold from elsewhere (the runtime’s summary), its own entry first', () => {
    const owners = new SessionOwners(1, (id) => (id === 'old' ? 'user:alice' : undefined));
    owners.record('old', 'user:bob');
    expect(owners.ownerOf('old')).toBe('user:bob');
    owners.record('new', 'user:carol');
    expect(owners.ownerOf('old')).toBe('user:alice');
    expect(owners.ownerOf('never')).toBeUndefined();
  });

  it('keeps no entry for `local`: the stdio client sees all, and nobody else sees its work', () => {
    const owners = new SessionOwners();
    owners.record('s1', 'local');
    expect(owners.size).toBe(0);
    expect(canSee({ key: 'token:a', admin: false }, owners.ownerOf('s1'))).toBe(false);
    expect(canSee({ key: 'local', admin: false }, owners.ownerOf('s1'))).toBe(true);
  });

  it('is one index per runtime, falling back to the owner its summary names', () => {
    const summaries = new Map([['elsewhere', { owner: 'token:b' }]]);
    const runtime = { session: (id: string) => summaries.get(id) };
    const owners = sessionOwnersOf(runtime);
    expect(sessionOwnersOf(runtime)).toBe(owners);
    expect(sessionOwnersOf({ session: () => undefined })).not.toBe(owners);
    expect(owners.ownerOf('elsewhere')).toBe('token:b');
  });
});
