/**
 * TROUPE_ROOTS unset: multi_file_chat may read the working directory. A host that starts
 * `troupe stdio` picks that directory, and may pick the filesystem's root (Claude Desktop on
 * macOS: the MCP debugging guide says it "may be undefined (like `/` on macOS)"); troupe took `/`
 * for a root and multi_file_chat read any file on the machine that is not hidden. The filesystem's
 * root is never the default now: no root, and a warning at start that says what to set.
 */
import { describe, expect, it } from 'vitest';
import { rootsFrom, rootsNotice } from '../../../src/cli/bootstrap.js';

describe('the default root folder of multi_file_chat', () => {
  it('is the working directory when TROUPE_ROOTS is unset', () => {
    expect(rootsFrom({}, '/home/me/project')).toEqual(['/home/me/project']);
    expect(rootsNotice({}, '/home/me/project')).toBeUndefined();
  });

  it('is none when the working directory is the filesystem’s root, with a warning naming TROUPE_ROOTS', () => {
    expect(rootsFrom({}, '/')).toEqual([]);
    expect(rootsNotice({}, '/')).toMatch(
      /^TROUPE_ROOTS is not set and the working directory is the filesystem's root \(\/\).*multi_file_chat reads no file; set TROUPE_ROOTS/,
    );
  });

  it('is what TROUPE_ROOTS says, the filesystem’s root too when it is named', () => {
    expect(rootsFrom({ TROUPE_ROOTS: '/' }, '/')).toEqual(['/']);
    expect(rootsNotice({ TROUPE_ROOTS: '/' }, '/')).toBeUndefined();
    expect(rootsFrom({ TROUPE_ROOTS: '/srv/a:/srv/b' }, '/')).toEqual(['/srv/a', '/srv/b']);
    expect(rootsFrom({ TROUPE_ROOTS: '' }, '/home/me')).toEqual([]);
  });
});
