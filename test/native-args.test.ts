// The engine constructors' argument checks: a value out of range is a TypeError naming it, never
// silently wrapped into some other value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { native } from '../src/native/binding.js';

test('PlanetaryEngine: an mtu outside 1280..65535 is refused, also past 2^32 (no 32-bit wrap-around)', () => {
  const base = { seed: new Uint8Array(32).fill(7), onEvent: () => {} };
  // 2^32 + 1300 wrapped to 1300 when read as an int32, and was accepted.
  for (const mtu of [2 ** 32 + 1300, 1279, 65536, -1, Number.NaN, Infinity]) {
    assert.throws(() => new native.PlanetaryEngine({ ...base, mtu }), { name: 'TypeError', message: 'mtu must be 1280..65535' }, String(mtu));
  }
});
