// numericEndpoint: the one way WireGuard endpoints and planetary peering URIs become numeric addresses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { numericEndpoint } from '../src/net/endpoint.js';

test('IP literals stay as written, IPv6 in brackets; names resolve to an address', async () => {
  assert.equal(await numericEndpoint('192.0.2.7', 51820), '192.0.2.7:51820');
  assert.equal(await numericEndpoint('2001:db8::1', 1), '[2001:db8::1]:1');
  assert.match(await numericEndpoint('localhost', 7), /^(127\.0\.0\.1|\[::1\]):7$/);
  await assert.rejects(numericEndpoint('no-such-host.invalid', 1));
});

test('an IPv6 zone is kept, renamed or dropped as the caller says', async () => {
  assert.equal(await numericEndpoint('fe80::1%eth0', 1), '[fe80::1%eth0]:1');
  assert.equal(await numericEndpoint('fe80::1%eth0', 1, (zone) => `#${zone}`), '[fe80::1%#eth0]:1');
  assert.equal(await numericEndpoint('fe80::1%eth0', 1, () => ''), '[fe80::1]:1');
  assert.equal(await numericEndpoint('fe80::1', 1, () => 'never'), '[fe80::1]:1');
});
