/**
 * A refused key through a host that is not the vendor's own (audit leftover, 2026-12-05): with
 * `KIMI_BASE_URL` at a proxy, a 401 told the user which of Moonshot's two hosts takes which
 * platform's key, about hosts the call never reached. The message now names the host called.
 */
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { toProviderError } from '../../../src/providers/http-errors.js';
import { GLM_ERRORS, KIMI_ERRORS, type VendorErrorTable } from '../../../src/providers/vendor-errors.js';

const KEY = 'sk-auth-host-0123456789abcdef';
const kimi = { provider: 'kimi', operation: 'chat completion', errorTable: KIMI_ERRORS, secrets: [KEY] };
const glm = { provider: 'glm', operation: 'chat completion', errorTable: GLM_ERRORS, secrets: [KEY] };
const generate = (status: number, body: unknown) =>
  APIError.generate(status, body as object, undefined, new Headers());
const kimiAuth = () => generate(401, { error: { type: 'invalid_authentication_error', message: 'bad key' } });
const glmAuth = () => generate(401, { error: { code: '1002', message: 'bad key' } });

const PLATFORMS = `. Check the key and its platform: keys of platform.kimi.com work only on api.moonshot.cn (kimi.region "cn"), keys of platform.kimi.ai only on api.moonshot.ai (the default), and Kimi Code keys (sk-kimi-...) only on Kimi Code's https://api.kimi.com/coding/v1 (KIMI_BASE_URL).`;
const refusedBy = (host: string) =>
  `. The key was refused by ${host}, the base URL's host, not by the vendor's own API: check the key that host expects (a proxy may want a key of its own, or pass the vendor's on)`;

describe('a refused key', () => {
  it('through a proxy names the proxy’s host, not Moonshot’s hosts and platforms', () => {
    const mapped = toProviderError(kimiAuth(), { ...kimi, host: 'proxy.example:8443' });
    expect(mapped.code).toBe('AUTH_FAILED');
    expect(mapped.message).toBe(`kimi chat completion: HTTP 401: bad key${refusedBy('proxy.example:8443')}`);
    expect(mapped.message).not.toContain('moonshot');
  });

  it('through one of the vendor’s own hosts keeps the vendor’s advice, whatever the port', () => {
    for (const host of [
      'api.moonshot.ai',
      'api.moonshot.cn',
      'api.moonshot.cn:8443',
      'api.kimi.com',
      undefined,
    ]) {
      const context = host === undefined ? kimi : { ...kimi, host };
      expect(toProviderError(kimiAuth(), context).message, host).toBe(
        `kimi chat completion: HTTP 401: bad key${PLATFORMS}`,
      );
    }
    for (const host of ['open.bigmodel.cn', 'api.z.ai', undefined]) {
      const context = host === undefined ? glm : { ...glm, host };
      expect(toProviderError(glmAuth(), context).message, host).toBe(
        'glm chat completion: HTTP 401: bad key',
      );
    }
  });

  it('GLM’s, through a proxy, in an answer and in a stream', () => {
    const context = { ...glm, host: '127.0.0.1:4000' };
    expect(toProviderError(glmAuth(), context).message).toBe(
      `glm chat completion: HTTP 401: bad key${refusedBy('127.0.0.1:4000')}`,
    );
    const streamed = new APIError(undefined, { code: '1001', message: 'no key' }, 'no key', undefined);
    expect(toProviderError(streamed, context).message).toBe(
      `glm chat completion: the stream carried an error: no key${refusedBy('127.0.0.1:4000')}`,
    );
  });

  it('is the only advice the host changes: others stay as the vendor gives them', () => {
    const proxy = { host: 'proxy.example' };
    const closed = generate(499, { error: { type: 'client_closed_request', message: 'm' } });
    expect(toProviderError(closed, { ...kimi, ...proxy }).message).toBe(
      'kimi chat completion: HTTP 499: m. Check the keep-alive and timeouts of any proxy between troupe and Moonshot.',
    );
    const twoFactor = generate(401, { error: { code: '1005', message: 'm' } });
    expect(toProviderError(twoFactor, { ...glm, ...proxy }).message).toBe(
      'glm chat completion: HTTP 401: m. The account asks for a second factor: complete it in the vendor console, or use a key it allows.',
    );
  });

  it('never shows the key, even one written as the base URL’s host', () => {
    const mapped = toProviderError(kimiAuth(), { ...kimi, host: KEY });
    expect(mapped.message).toBe(`kimi chat completion: HTTP 401: bad key${refusedBy('[redacted]')}`);
    const { secrets: _, ...noSecrets } = kimi;
    expect(toProviderError(kimiAuth(), { ...noSecrets, host: 'proxy.example' }).message).toBe(
      `kimi chat completion: HTTP 401: bad key${refusedBy('proxy.example')}`,
    );
  });

  it('of a table that names no hosts keeps the row’s advice whatever the host', () => {
    const table: VendorErrorTable = {
      vendor: 'kimi',
      rows: [{ ...(KIMI_ERRORS.rows.find((row) => row.id === 'kimi.auth') as VendorErrorTable['rows'][0]) }],
    };
    expect(toProviderError(kimiAuth(), { ...kimi, errorTable: table, host: 'proxy.example' }).message).toBe(
      `kimi chat completion: HTTP 401: bad key${PLATFORMS}`,
    );
  });

  it('compares the host without its port only, an IPv6 address too', () => {
    const table: VendorErrorTable = { ...KIMI_ERRORS, hosts: ['[::1]'] };
    expect(toProviderError(kimiAuth(), { ...kimi, errorTable: table, host: '[::1]:8080' }).message).toBe(
      `kimi chat completion: HTTP 401: bad key${PLATFORMS}`,
    );
    expect(toProviderError(kimiAuth(), { ...kimi, errorTable: table, host: '[::2]:8080' }).message).toBe(
      `kimi chat completion: HTTP 401: bad key${refusedBy('[::2]:8080')}`,
    );
  });
});
