/**
 * The request forms `hostFieldsProblem` (src/core/host-fields.ts) takes and refuses, as Node's
 * `rawHeaders` (name, value, name, value...) and request target hold them. Over HTTP:
 * tests/integration/security/host-fields.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { hostFieldsProblem } from '../../../src/core/host-fields.js';

describe('hostFieldsProblem', () => {
  it('takes one Host with an origin-form or asterisk-form target, and leaves a missing Host to the Host check', () => {
    expect(hostFieldsProblem(['Host', 'localhost:7801', 'Accept', '*/*'], '/mcp')).toBeUndefined();
    expect(hostFieldsProblem(['Host', 'localhost'], '*')).toBeUndefined();
    expect(hostFieldsProblem(['Accept', '*/*'], '/mcp')).toBeUndefined();
    expect(hostFieldsProblem(['Accept', '*/*'], 'http://localhost/mcp')).toBeUndefined();
    expect(hostFieldsProblem(['Host', 'localhost'], undefined)).toBeUndefined();
  });

  it('refuses a second Host field, whatever its case or value', () => {
    expect(hostFieldsProblem(['Host', 'a', 'X-Other', 'b', 'HOST', 'a'], '/')).toBe(
      'Bad Request: expected one Host header, got 2 ("a", "a"); RFC 9112 section 3.2',
    );
    expect(hostFieldsProblem(['host', 'a', 'Host', 'b', 'hOsT', 'c'], '/')).toMatch(
      /got 3 \("a", "b", "c"\)/,
    );
  });

  it('takes an absolute-form target naming the Host’s host, as the URL standard spells it', () => {
    expect(hostFieldsProblem(['Host', 'LocalHost:80'], 'http://localhost/mcp')).toBeUndefined();
    expect(hostFieldsProblem(['Host', '[::1]:7801'], 'http://[0:0:0:0:0:0:0:1]:7801/')).toBeUndefined();
  });

  it('refuses an absolute-form target naming another host or port, or none that parses', () => {
    const problem = (host: string, target: string) => hostFieldsProblem(['Host', host], target);
    expect(problem('localhost', 'http://evil.example/mcp')).toBe(
      'Bad Request: expected the request target\'s host to be the Host header\'s "localhost", got "http://evil.example/mcp"; RFC 9112 section 3.2.2',
    );
    expect(problem('localhost:7801', 'http://localhost:7802/mcp')).toMatch(/section 3\.2\.2$/);
    expect(problem('localhost', 'evil.example:80')).toMatch(/section 3\.2\.2$/);
    expect(problem('localhost', 'http://')).toMatch(/section 3\.2\.2$/);
    // A Host that does not parse either is no match for it.
    expect(problem('local host', 'http://')).toBe(
      'Bad Request: expected the request target\'s host to be the Host header\'s "local host", got "http://"; RFC 9112 section 3.2.2',
    );
  });
});
