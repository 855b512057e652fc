import { describe, expect, it } from 'vitest';
import { clientAddress, NO_TRUSTED_PROXIES, parseTrustedProxies } from './client-address.js';

const req = (remoteAddress: string, xff?: string | string[]) => ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });

describe('clientAddress', () => {
  it('is the socket address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress(req('203.0.113.9', '1.2.3.4'), NO_TRUSTED_PROXIES)).toBe('203.0.113.9');
    expect(clientAddress(req('::ffff:203.0.113.9'), NO_TRUSTED_PROXIES)).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted hop behind trusted proxies', () => {
    const trusted = parseTrustedProxies('10.0.0.0/8, 192.168.1.7 ::1');
    expect(clientAddress(req('10.1.2.3', '198.51.100.1'), trusted)).toBe('198.51.100.1');
    // The client wrote 6.6.6.6 itself; the proxies appended what they saw.
    expect(clientAddress(req('::ffff:10.1.2.3', '6.6.6.6, 198.51.100.1, 192.168.1.7'), trusted)).toBe('198.51.100.1');
    expect(clientAddress(req('::1', ['6.6.6.6', '2001:db8::5']), trusted)).toBe('2001:db8::5');
    // Only trusted hops: the left-most is the nearest we know to the client.
    expect(clientAddress(req('10.1.2.3', '10.9.9.9'), trusted)).toBe('10.9.9.9');
    // No header, or garbage in it: the proxy itself.
    expect(clientAddress(req('10.1.2.3'), trusted)).toBe('10.1.2.3');
    expect(clientAddress(req('10.1.2.3', 'not-an-ip'), trusted)).toBe('10.1.2.3');
  });

  it('ignores X-Forwarded-For from an address that is not a trusted proxy', () => {
    const trusted = parseTrustedProxies('10.0.0.0/8');
    expect(clientAddress(req('198.51.100.1', '10.0.0.1'), trusted)).toBe('198.51.100.1');
  });

  it('refuses a setting that is not a list of addresses and ranges', () => {
    for (const bad of ['10.0.0.0/33', 'proxy.local', '10.0.0.1/8/2', '::1/129', '10.0.0.0/']) expect(() => parseTrustedProxies(bad), bad).toThrow(/STABLEDRAG_TRUSTED_PROXIES/);
  });
});
