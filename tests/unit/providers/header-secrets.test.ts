import { describe, expect, it } from 'vitest';
import { credentialHeaderValues } from '../../../src/providers/header-secrets.js';

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

  it('has nothing to scrub without headers', () => {
    expect(credentialHeaderValues(undefined)).toEqual([]);
  });
});
