import { describe, expect, it } from 'vitest';
import {
  checkedCredentials,
  checkedHeaders,
  credentialHeaderValues,
} from '../../../src/providers/header-secrets.js';

describe('credentialHeaderValues', () => {
  it('takes the values of headers named like credentials, whatever their case, and no others', () => {
    expect(
      credentialHeaderValues({
        'api-key': 'azure-1',
        'X-API-KEY': 'anthropic-2',
        'x-auth-token': 'tok-3',
        Cookie: 'sid=4',
        'x-gateway-secret': 'sec-5',
        'x-team': 'research',
        'HTTP-Referer': 'https://example.org',
        'X-Title': 'my app',
        'api-key-empty': '  ',
      }),
    ).toEqual(['azure-1', 'anthropic-2', 'tok-3', 'sid=4', 'sec-5']);
  });

  it('also takes the credential after a scheme, so a quoted token alone is scrubbed too', () => {
    expect(credentialHeaderValues({ Authorization: 'Basic dXNlcjpwYXNz' })).toEqual([
      'Basic dXNlcjpwYXNz',
      'dXNlcjpwYXNz',
    ]);
  });

  it('takes passwords, credentials, signatures and sessions by name too', () => {
    expect(
      credentialHeaderValues({
        'X-Proxy-Password': 'pw-1',
        'X-Credential': 'cred-2',
        'X-Signature': 'sig-3',
        'X-Session': 'sess-4',
      }),
    ).toEqual(['pw-1', 'cred-2', 'sig-3', 'sess-4']);
  });

  it('takes the credential after a scheme however it is spaced, and keeps its own spaces as one', () => {
    expect(credentialHeaderValues({ Authorization: ' Bearer  tok-1 ' })).toEqual([
      ' Bearer  tok-1 ',
      'tok-1',
    ]);
    expect(credentialHeaderValues({ 'X-Auth': 'Digest a b' })).toEqual(['Digest a b', 'a b']);
  });

  it('has nothing to scrub without headers', () => {
    expect(credentialHeaderValues(undefined)).toEqual([]);
  });
});

describe('checkedHeaders and checkedCredentials', () => {
  it('bounds the credential after a scheme, however spaced, or the whole value, trimmed', () => {
    expect(() =>
      checkedHeaders('p headers', { Authorization: ` Bearer  ${'x'.repeat(10)} ` }, 10),
    ).not.toThrow();
    expect(() => checkedHeaders('p headers', { 'x-api-key': ` ${'x'.repeat(10)} ` }, 10)).not.toThrow();
    expect(() => checkedHeaders('p headers', { 'X-Auth': 'Digest a b' }, 2)).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(
          /^p headers\["X-Auth"\]: Expected a credential of at most 2 characters .*, got one of 3;/,
        ),
      }),
    );
    expect(() => checkedHeaders('p headers', { 'x-team': 'x'.repeat(20) }, 2)).not.toThrow();
  });

  it('gives the key and each credential header’s values once both are within the bound', () => {
    expect(checkedCredentials('p', 'sk-key', { Authorization: 'Bearer tok', 'x-team': 't' })).toEqual([
      'sk-key',
      'Bearer tok',
      'tok',
    ]);
  });
});
