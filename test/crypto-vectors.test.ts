// Known-answer tests for every primitive the native addon exposes: the WireGuard and Yggdrasil vector
// files in shared/specs (authoritative, loaded as data) plus the classic published vectors that are not
// in those files (RFC 8032, NaCl box/HSalsa20, the BLAKE2s reference KAT). Each vector is its own
// subtest, named after the file entry or the document section it comes from, so a failure says which.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBytes, loadSpecJson, nc, sharedDir, toHex, unhex } from './lib/crypto-helpers.js';

const WG = 'wireguard-vectors';
const YGG = 'yggdrasil-0.5-vectors';
const AUTH_FAILED = /authentication failed/;
const ascii = (s: string) => Buffer.from(s, 'latin1');
const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);

const NO_KEYED_256 = 'no native keyed BLAKE2s-256 (blake2sMac is the 16-byte-digest MAC)';

/** wireguard-go's nonce: 4 zero bytes then the 64-bit counter, little-endian. */
function wgNonce(counter: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64LE(counter, 4);
  return n;
}

function checkAead(
  name: string,
  seal: typeof nc.chachaSeal,
  open: typeof nc.chachaOpen,
  v: { key: string; nonce: string; aad: string; plaintext: string; sealed: string },
): void {
  test(`${name} seal`, () => {
    assertBytes(seal(unhex(v.key), unhex(v.nonce), unhex(v.aad), unhex(v.plaintext)), v.sealed, 'sealed');
  });
  test(`${name} open`, () => {
    const sealed = unhex(v.sealed);
    assertBytes(open(unhex(v.key), unhex(v.nonce), unhex(v.aad), sealed), v.plaintext, 'plaintext');
    sealed[sealed.length - 1] ^= 1;
    assert.throws(() => open(unhex(v.key), unhex(v.nonce), unhex(v.aad), sealed), AUTH_FAILED);
  });
}

// ---------------------------------------------------------------------------------------------------
// WireGuard vector files

describe('wireguard-vectors/blake2s.json', () => {
  const f = loadSpecJson(`${WG}/blake2s.json`);
  f.hash.forEach((v: any, i: number) => {
    test(`blake2s: hash[${i}] (${v.input.length / 2}-byte input)`, () => {
      assertBytes(nc.blake2s(unhex(v.input)), v.output, 'BLAKE2s-256');
    });
  });
  f.keyed_32.forEach((_v: unknown, i: number) => {
    test(`blake2s keyed-256: keyed_32[${i}]`, { skip: NO_KEYED_256 }, () => {});
  });
  f.mac16.forEach((v: any, i: number) => {
    test(`blake2s-mac16: mac16[${i}]`, () => {
      assertBytes(nc.blake2sMac(unhex(v.key), unhex(v.input)), v.output, 'MAC');
    });
  });
});

describe('wireguard-vectors/chacha20poly1305.json', () => {
  const f = loadSpecJson(`${WG}/chacha20poly1305.json`);
  const r = f.rfc8439_2_8_2;
  checkAead('chacha20poly1305: rfc8439_2_8_2', nc.chachaSeal, nc.chachaOpen, { ...r, sealed: r.ciphertext + r.tag });
  f.wireguard_nonce_cases.forEach((v: any, i: number) => {
    // JSON numbers past 2^53 lose digits, so only small counters can be checked against the nonce.
    if (Number.isSafeInteger(v.counter)) {
      test(`chacha20poly1305: wireguard_nonce_cases[${i}] nonce layout`, () => {
        assertBytes(wgNonce(BigInt(v.counter)), v.nonce, 'nonce');
      });
    }
    checkAead(`chacha20poly1305: wireguard_nonce_cases[${i}]`, nc.chachaSeal, nc.chachaOpen, v);
  });
});

describe('wireguard-vectors/xchacha20poly1305.json', () => {
  const f = loadSpecJson(`${WG}/xchacha20poly1305.json`);
  const h = f.hchacha20_2_2_1;
  test('hchacha20: hchacha20_2_2_1 (draft-irtf-cfrg-xchacha §2.2.1)', () => {
    assertBytes(nc.hchacha20(unhex(h.key), unhex(h.nonce16)), h.subkey, 'subkey');
  });
  const a = f.aead_A_3_1;
  checkAead('xchacha20poly1305: aead_A_3_1 (draft-irtf-cfrg-xchacha §A.3.1)', nc.xchachaSeal, nc.xchachaOpen, {
    ...a,
    nonce: a.nonce24,
  });
  const c = f.cookie_sized;
  checkAead('xchacha20poly1305: cookie_sized', nc.xchachaSeal, nc.xchachaOpen, {
    key: c.key,
    nonce: c.nonce24,
    aad: c.aad_mac1,
    plaintext: c.plaintext_cookie16,
    sealed: c.sealed32,
  });
});

describe('wireguard-vectors/x25519.json', () => {
  const f = loadSpecJson(`${WG}/x25519.json`);
  f.rfc7748_5_2.forEach((v: any, i: number) => {
    test(`x25519: rfc7748_5_2[${i}]`, () => {
      assertBytes(nc.x25519(unhex(v.scalar), unhex(v.u)), v.output, 'X25519(k, u)');
    });
  });
  // RFC 7748 §5.2: k = u = 9; repeatedly k' = X25519(k, u), u' = k.
  const ladder = (iterations: number) => {
    let k: Uint8Array = unhex('09'.padEnd(64, '0'));
    let u: Uint8Array = k;
    for (let i = 0; i < iterations; i++) [k, u] = [nc.x25519(k, u), k];
    return k;
  };
  test('x25519: rfc7748_iterated after_1', () => assertBytes(ladder(1), f.rfc7748_iterated.after_1, 'k after 1'));
  test('x25519: rfc7748_iterated after_1000', () => assertBytes(ladder(1000), f.rfc7748_iterated.after_1000, 'k after 1000'));
  const d = f.rfc7748_6_1;
  test('x25519: rfc7748_6_1 alice_public', () =>
    assertBytes(nc.x25519Public(unhex(d.alice_private)), d.alice_public, 'public'));
  test('x25519: rfc7748_6_1 bob_public', () =>
    assertBytes(nc.x25519Public(unhex(d.bob_private)), d.bob_public, 'public'));
  test('x25519: rfc7748_6_1 shared (alice side)', () =>
    assertBytes(nc.x25519(unhex(d.alice_private), unhex(d.bob_public)), d.shared, 'shared'));
  test('x25519: rfc7748_6_1 shared (bob side)', () =>
    assertBytes(nc.x25519(unhex(d.bob_private), unhex(d.alice_public)), d.shared, 'shared'));
  f.low_order_public_keys_b64.forEach((b64: string, i: number) => {
    test(`x25519: low_order_public_keys_b64[${i}] is refused`, () => {
      const pub = Buffer.from(b64, 'base64');
      assert.equal(pub.length, 32);
      assert.throws(() => nc.x25519(unhex(d.alice_private), pub), /key agreement failed/);
      assert.throws(() => nc.boxBeforenm(pub, unhex(d.alice_private)), /key agreement failed/);
    });
  });
});

describe('wireguard-vectors/hmac_blake2s.json', () => {
  const f = loadSpecJson(`${WG}/hmac_blake2s.json`);
  f.cases.forEach((v: any, i: number) => {
    const key = unhex(v.key);
    test(`hmac_blake2s: cases[${i}] (${key.length}-byte key)`, () => {
      assertBytes(nc.hmacBlake2s(key, unhex(v.data)), v.output, 'HMAC');
    });
  });
});

describe('wireguard-vectors/kdf.json', () => {
  const f = loadSpecJson(`${WG}/kdf.json`);
  f.cases.forEach((v: any, i: number) => {
    const key = unhex(v.key);
    test(`kdf: cases[${i}] (${key.length}-byte key)`, () => {
      const input = unhex(v.input);
      const [t1, t2, t3] = nc.kdf(key, input, 3);
      assertBytes(t1!, v.T1, 'T1');
      assertBytes(t2!, v.T2, 'T2');
      assertBytes(t3!, v.T3, 'T3');
      // KDF1/KDF2 are prefixes of KDF3, which the handshake relies on.
      assert.deepEqual(nc.kdf(key, input, 1).map(toHex), [v.T1]);
      assert.deepEqual(nc.kdf(key, input, 2).map(toHex), [v.T1, v.T2]);
    });
  });
});

const LABEL_MAC1 = ascii('mac1----');
const LABEL_COOKIE = ascii('cookie--');

describe('wireguard-vectors/mac1.json', () => {
  const f = loadSpecJson(`${WG}/mac1.json`);
  const pub = unhex(f.receiver_static_public);
  test('mac1: mac1_key = HASH(LABEL_MAC1 || receiver_static_public)', () =>
    assertBytes(nc.blake2s(cat(LABEL_MAC1, pub)), f.mac1_key, 'mac1 key'));
  test('mac1: mac1_over_116', () =>
    assertBytes(nc.blake2sMac(unhex(f.mac1_key), unhex(f.msg_prefix_116)), f.mac1_over_116, 'mac1'));
  test('mac1: mac1_over_60', () =>
    assertBytes(nc.blake2sMac(unhex(f.mac1_key), unhex(f.msg_prefix_60)), f.mac1_over_60, 'mac1'));
  const k42 = Buffer.alloc(32, 0x42);
  test('mac1: extra_mac1_key_for_public_key_42x32', () =>
    assertBytes(nc.blake2s(cat(LABEL_MAC1, k42)), f.extra_mac1_key_for_public_key_42x32, 'mac1 key'));
  test('mac1: cookie_key_for_public_key_42x32', () =>
    assertBytes(nc.blake2s(cat(LABEL_COOKIE, k42)), f.cookie_key_for_public_key_42x32, 'cookie key'));
});

describe('wireguard-vectors/cookie.json', () => {
  const f = loadSpecJson(`${WG}/cookie.json`);
  const pub = unhex(f.responder_static_public);
  const cookieKey = unhex(f['cookie_encryption_key_HASH(LABEL_COOKIE||S_r_pub)']);
  const mac1Key = unhex(f['mac1_key_HASH(LABEL_MAC1||S_r_pub)']);
  const cookie = unhex(f['cookie_MAC(secret, source_bytes)']);
  const reply = unhex(f.cookie_reply);
  const resent = unhex(f.initiation_resent_with_mac2);
  test('cookie: cookie_encryption_key', () => assertBytes(nc.blake2s(cat(LABEL_COOKIE, pub)), cookieKey, 'cookie key'));
  test('cookie: mac1_key', () => assertBytes(nc.blake2s(cat(LABEL_MAC1, pub)), mac1Key, 'mac1 key'));
  test('cookie: cookie = MAC(secret, source_bytes)', () =>
    assertBytes(nc.blake2sMac(unhex(f.cookie_secret), unhex(f.source_bytes_ip_then_port_be)), cookie, 'cookie'));
  // Cookie reply: type(4) ‖ receiver index(4) ‖ nonce(24) ‖ XChaCha20-Poly1305(cookie key, nonce, cookie, aad = mac1).
  test('cookie: cookie_reply seal', () => {
    assert.equal(reply.length, f.cookie_reply_len);
    assertBytes(reply.subarray(8, 32), f.nonce24, 'nonce in reply');
    const sealed = nc.xchachaSeal(cookieKey, unhex(f.nonce24), unhex(f.initiation_mac1_used_as_aad), cookie);
    assertBytes(sealed, reply.subarray(32), 'encrypted cookie');
  });
  test('cookie: cookie_reply open', () => {
    const aad = unhex(f.initiation_mac1_used_as_aad);
    assertBytes(nc.xchachaOpen(cookieKey, reply.subarray(8, 32), aad, reply.subarray(32)), cookie, 'cookie');
    const wrongAad = Uint8Array.from(aad);
    wrongAad[0] ^= 0x80;
    assert.throws(() => nc.xchachaOpen(cookieKey, reply.subarray(8, 32), wrongAad, reply.subarray(32)), AUTH_FAILED);
  });
  test('cookie: initiation_resent_with_mac2 mac1', () =>
    assertBytes(nc.blake2sMac(mac1Key, resent.subarray(0, 116)), f.initiation_mac1_used_as_aad, 'mac1'));
  test('cookie: mac2 = MAC(cookie, msg[0:132])', () => {
    assertBytes(nc.blake2sMac(cookie, resent.subarray(0, 132)), f.mac2, 'mac2');
    assertBytes(resent.subarray(132), f.mac2, 'mac2 in message');
  });
});

// The handshake files are a full Noise_IKpsk2 run; every trace step is one primitive call on values
// earlier in the file, so each is checked here as a vector for that primitive.
for (const file of ['handshake_nopsk.json', 'handshake_psk.json']) {
  describe(`wireguard-vectors/${file}`, () => {
    const f = loadSpecJson(`${WG}/${file}`);
    const tag = file.replace('.json', '');
    const inp = f.inputs;
    const sIPriv = unhex(inp.initiator_static_private);
    const sRPriv = unhex(inp.responder_static_private);
    const eIPriv = unhex(inp.initiator_ephemeral_private);
    const eRPriv = unhex(inp.responder_ephemeral_private);
    const sIPub = unhex(inp.initiator_static_public);
    const sRPub = unhex(inp.responder_static_public);
    const zero12 = wgNonce(0n);
    const trace = new Map<string, Buffer>();
    for (const s of [...f.initiator_trace, ...f.responder_trace]) trace.set(s.step, unhex(s.value));
    const v = (step: string) => {
      const b = trace.get(step);
      if (!b) throw new Error(`${file}: trace has no step ${JSON.stringify(step)}`);
      return b;
    };

    test(`x25519: ${tag} static key pairs`, () => {
      assertBytes(nc.x25519Public(sIPriv), sIPub, 'initiator static public');
      assertBytes(nc.x25519Public(sRPriv), sRPub, 'responder static public');
      assertBytes(Buffer.from(inp.initiator_static_private_b64, 'base64'), sIPriv, 'b64 form');
    });
    test(`blake2s: ${tag} constants C0 and HASH(C0||IDENTIFIER)`, () => {
      assertBytes(nc.blake2s(ascii(f.constants.CONSTRUCTION)), f.constants.C0_initial_chaining_key, 'C0');
      assertBytes(
        nc.blake2s(cat(unhex(f.constants.C0_initial_chaining_key), ascii(f.constants.IDENTIFIER))),
        f.constants['initial_hash_HASH(C0||IDENTIFIER)'],
        'initial hash',
      );
    });

    const kdf = (ck: Uint8Array, input: Uint8Array, n: 1 | 2 | 3, i: number) => nc.kdf(ck, input, n)[i]!;
    const timestamp = unhex(inp.timestamp_tai64n);
    const steps: Record<string, () => Uint8Array> = {
      C0: () => nc.blake2s(ascii(f.constants.CONSTRUCTION)),
      'H0 = HASH(HASH(C0||IDENTIFIER)||S_r_pub)': () =>
        nc.blake2s(cat(unhex(f.constants['initial_hash_HASH(C0||IDENTIFIER)']), sRPub)),
      E_i_pub: () => nc.x25519Public(eIPriv),
      'C1 = KDF1(C0, E_i_pub)': () => kdf(v('C0'), v('E_i_pub'), 1, 0),
      'H1 = HASH(H0||E_i_pub)': () => nc.blake2s(cat(v('H0 = HASH(HASH(C0||IDENTIFIER)||S_r_pub)'), v('E_i_pub'))),
      'DH(E_i_priv, S_r_pub)': () => nc.x25519(eIPriv, sRPub),
      C2: () => kdf(v('C1 = KDF1(C0, E_i_pub)'), v('DH(E_i_priv, S_r_pub)'), 2, 0),
      k_static: () => kdf(v('C1 = KDF1(C0, E_i_pub)'), v('DH(E_i_priv, S_r_pub)'), 2, 1),
      encrypted_static: () => nc.chachaSeal(v('k_static'), zero12, v('H1 = HASH(H0||E_i_pub)'), sIPub),
      'H2 = HASH(H1||encrypted_static)': () => nc.blake2s(cat(v('H1 = HASH(H0||E_i_pub)'), v('encrypted_static'))),
      'DH(S_i_priv, S_r_pub)': () => nc.x25519(sIPriv, sRPub),
      C3: () => kdf(v('C2'), v('DH(S_i_priv, S_r_pub)'), 2, 0),
      k_timestamp: () => kdf(v('C2'), v('DH(S_i_priv, S_r_pub)'), 2, 1),
      encrypted_timestamp: () => nc.chachaSeal(v('k_timestamp'), zero12, v('H2 = HASH(H1||encrypted_static)'), timestamp),
      'H3 = HASH(H2||encrypted_timestamp)': () =>
        nc.blake2s(cat(v('H2 = HASH(H1||encrypted_static)'), v('encrypted_timestamp'))),
      'mac1_key = HASH(LABEL_MAC1||S_r_pub)': () => nc.blake2s(cat(LABEL_MAC1, sRPub)),
      E_r_pub: () => nc.x25519Public(eRPriv),
      'C4 = KDF1(C3, E_r_pub)': () => kdf(v('C3'), v('E_r_pub'), 1, 0),
      'H4 = HASH(H3||E_r_pub)': () => nc.blake2s(cat(v('H3 = HASH(H2||encrypted_timestamp)'), v('E_r_pub'))),
      'DH(E_r_priv, E_i_pub)': () => nc.x25519(eRPriv, v('E_i_pub')),
      C5: () => kdf(v('C4 = KDF1(C3, E_r_pub)'), v('DH(E_r_priv, E_i_pub)'), 1, 0),
      'DH(E_r_priv, S_i_pub)': () => nc.x25519(eRPriv, sIPub),
      C6: () => kdf(v('C5'), v('DH(E_r_priv, S_i_pub)'), 1, 0),
      C7: () => kdf(v('C6'), unhex(inp.preshared_key), 3, 0),
      tau: () => kdf(v('C6'), unhex(inp.preshared_key), 3, 1),
      k_empty: () => kdf(v('C6'), unhex(inp.preshared_key), 3, 2),
      'H5 = HASH(H4||tau)': () => nc.blake2s(cat(v('H4 = HASH(H3||E_r_pub)'), v('tau'))),
      encrypted_nothing: () => nc.chachaSeal(v('k_empty'), zero12, v('H5 = HASH(H4||tau)'), new Uint8Array(0)),
      'H6 = HASH(H5||encrypted_nothing)': () => nc.blake2s(cat(v('H5 = HASH(H4||tau)'), v('encrypted_nothing'))),
      'mac1_key = HASH(LABEL_MAC1||S_i_pub)': () => nc.blake2s(cat(LABEL_MAC1, sIPub)),
      'T_i_send = T_r_recv': () => kdf(v('C7'), new Uint8Array(0), 2, 0),
      'T_i_recv = T_r_send': () => kdf(v('C7'), new Uint8Array(0), 2, 1),
    };
    for (const side of ['initiator_trace', 'responder_trace'] as const) {
      for (const s of f[side]) {
        test(`${tag}: ${side} ${s.step}`, () => {
          const compute = steps[s.step];
          assert.ok(compute, `no primitive mapping for trace step ${JSON.stringify(s.step)}; the vector file changed`);
          assertBytes(compute(), s.value, s.step);
        });
      }
    }

    const m = f.messages;
    test(`mac1: ${tag} messages.initiation_mac1`, () => {
      const msg = unhex(m.initiation);
      assert.equal(msg.length, m.initiation_len);
      assertBytes(nc.blake2sMac(nc.blake2s(cat(LABEL_MAC1, sRPub)), msg.subarray(0, 116)), m.initiation_mac1, 'mac1');
      assertBytes(msg.subarray(116, 132), m.initiation_mac1, 'mac1 in message');
    });
    test(`mac1: ${tag} messages.response_mac1`, () => {
      const msg = unhex(m.response);
      assert.equal(msg.length, m.response_len);
      assertBytes(nc.blake2sMac(nc.blake2s(cat(LABEL_MAC1, sIPub)), msg.subarray(0, 60)), m.response_mac1, 'mac1');
      assertBytes(msg.subarray(60, 76), m.response_mac1, 'mac1 in message');
    });
    test(`kdf: ${tag} session keys`, () => {
      const [send, recv] = nc.kdf(v('C7'), new Uint8Array(0), 2);
      assertBytes(send!, f.session.initiator_send_key, 'initiator send');
      assertBytes(recv!, f.session.initiator_receive_key, 'initiator receive');
      assertBytes(v('H6 = HASH(H5||encrypted_nothing)'), f.session.final_hash, 'final hash');
    });

    // Transport data: header(16, counter at 8..16) ‖ ChaCha20-Poly1305(key, counter, plaintext zero-padded to 16).
    const transport = (packetHex: string, key: string, plaintextHex: string) => {
      const packet = unhex(packetHex);
      const counter = packet.readBigUInt64LE(8);
      const inner = unhex(plaintextHex);
      const padded = Buffer.alloc(Math.ceil(inner.length / 16) * 16);
      inner.copy(padded);
      assertBytes(nc.chachaSeal(unhex(key), wgNonce(counter), new Uint8Array(0), padded), packet.subarray(16), 'sealed');
      assertBytes(nc.chachaOpen(unhex(key), wgNonce(counter), new Uint8Array(0), packet.subarray(16)), padded, 'opened');
    };
    const t = f.transport;
    test(`chacha20poly1305: ${tag} transport.i_to_r_counter0`, () =>
      transport(t.i_to_r_counter0, f.session.initiator_send_key, t.i_to_r_inner_plaintext));
    test(`chacha20poly1305: ${tag} transport.i_to_r_keepalive_counter1`, () =>
      transport(t.i_to_r_keepalive_counter1, f.session.initiator_send_key, ''));
    test(`chacha20poly1305: ${tag} transport.r_to_i_counter0`, () =>
      transport(t.r_to_i_counter0, f.session.responder_send_key, t.r_to_i_inner_plaintext));
  });
}

// ---------------------------------------------------------------------------------------------------
// Yggdrasil 0.5 vector files

/** configs/<name>: PrivateKey is the 64-byte Go ed25519 key, seed ‖ public. */
function yggKey(config: string): { seed: Buffer; pub: Buffer } {
  const c = JSON.parse(readFileSync(join(sharedDir(), 'specs', YGG, 'configs', config), 'utf8'));
  const k = unhex(c.PrivateKey);
  assert.equal(k.length, 64, `${config}: PrivateKey length`);
  return { seed: k.subarray(0, 32), pub: k.subarray(32) };
}

describe('yggdrasil-0.5-vectors/handshakes.json', () => {
  const f = loadSpecJson(`${YGG}/handshakes.json`);
  f.vectors.forEach((v: any, i: number) => {
    const name = `vectors[${i}] (${v.label.split(' ').slice(0, 2).join(' ')}, password ${JSON.stringify(v.password)})`;
    const pub = unhex(v.parsed.public_key);
    const sig = unhex(v.parsed.signature);
    test(`blake2b512: handshakes ${name}`, () => {
      // An empty password means unkeyed BLAKE2b-512, not keyed with an empty key.
      assertBytes(nc.blake2b512(ascii(v.password), pub), v.blake2b512, 'BLAKE2b-512(password, public key)');
    });
    test(`ed25519: handshakes ${name} signature`, () => {
      const hash = unhex(v.blake2b512);
      assert.equal(nc.ed25519Verify(pub, hash, sig), v.signature_valid);
      const key = yggKey(v.private_key_config);
      assertBytes(key.pub, pub, 'public key in config');
      assertBytes(nc.ed25519Public(key.seed), pub, 'ed25519Public(seed)');
      assertBytes(nc.ed25519Sign(key.seed, hash), sig, 'deterministic signature');
      assert.equal(nc.ed25519Verify(pub, ascii(v.password + 'x'), sig), false, 'signature over another message');
    });
  });
});

describe('yggdrasil-0.5-vectors/session.json', () => {
  const f = loadSpecJson(`${YGG}/session.json`);
  const byNode = (letter: string) => yggKey(`${letter.toLowerCase()}.json`);
  f.vectors.forEach((v: any, i: number) => {
    const name = `vectors[${i}] ${v.kind} ${v.session_from}->${v.session_to}`;
    const recv = yggKey(v.receiver_private_key_config);
    const xPriv = v['receiver_x25519_private(crypto_sign_ed25519_sk_to_curve25519)'];
    const xPub = v['receiver_x25519_public(crypto_sign_ed25519_pk_to_curve25519)'];
    const boxKey = v['box_precomputed_key(HSalsa20(X25519(eph,recv)))'];
    // Session packet: type(1) ‖ ephemeral X25519 public(32) ‖ secretbox (tag ‖ ciphertext).
    const packet = unhex(v.session_packet_hex);
    test(`ed25519->x25519: session ${name}`, () => {
      assertBytes(nc.ed25519SeedToX25519(recv.seed), xPriv, 'sk_to_curve25519');
      assertBytes(nc.ed25519PublicToX25519(recv.pub), xPub, 'pk_to_curve25519');
      assertBytes(nc.x25519Public(unhex(xPriv)), xPub, 'the converted pair matches');
    });
    test(`box: session ${name} beforenm`, () => {
      assertBytes(packet.subarray(1, 33), v.ephemeral_x25519_public, 'ephemeral key in packet');
      assertBytes(nc.boxBeforenm(unhex(v.ephemeral_x25519_public), unhex(xPriv)), boxKey, 'box key');
    });
    test(`secretbox: session ${name} open and seal`, () => {
      const boxed = packet.subarray(33);
      const nonce = unhex(v.nonce24_hex);
      assertBytes(nc.secretboxOpen(unhex(boxKey), nonce, boxed), v.plaintext_hex, 'plaintext');
      assertBytes(nc.secretboxSeal(unhex(boxKey), nonce, unhex(v.plaintext_hex)), boxed, 'boxed');
      const altered = Buffer.from(boxed);
      altered[altered.length - 1] ^= 1;
      assert.throws(() => nc.secretboxOpen(unhex(boxKey), nonce, altered), AUTH_FAILED);
    });
    test(`ed25519: session ${name} signature`, () => {
      const sender = byNode(v.session_from);
      const msg = unhex(v['signed_message_hex(ephemeral||current||next||keyseq_be64||seq_be64)']);
      assert.equal(nc.ed25519Verify(sender.pub, msg, unhex(v.plaintext_fields.sig)), v.signature_valid_under_sender_ed25519);
    });
  });
});

describe('yggdrasil-0.5-vectors/addresses.json', () => {
  const f = loadSpecJson(`${YGG}/addresses.json`);
  f.vectors.forEach((v: any, i: number) => {
    test(`ed25519: addresses vectors[${i}] (${v.source_config}) public key from seed`, () => {
      const k = unhex(v.private_key_seed_plus_public);
      assertBytes(k.subarray(32), v.public_key, 'public half of the private key');
      assertBytes(nc.ed25519Public(k.subarray(0, 32)), v.public_key, 'ed25519Public(seed)');
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Published vectors not in shared/specs

describe('RFC 8032 §7.1 Ed25519', () => {
  const vectors = [
    {
      name: 'TEST 1',
      secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature:
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      name: 'TEST 2',
      secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature:
        '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
    {
      name: 'TEST 3',
      secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      message: 'af82',
      signature:
        '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    },
  ];
  for (const v of vectors) {
    test(`ed25519: rfc8032_7_1 ${v.name}`, () => {
      const seed = unhex(v.secret);
      const msg = unhex(v.message);
      assertBytes(nc.ed25519Public(seed), v.public, 'public key');
      assertBytes(nc.ed25519Sign(seed, msg), v.signature, 'signature');
      assert.equal(nc.ed25519Verify(unhex(v.public), msg, unhex(v.signature)), true);
      const bad = unhex(v.signature);
      bad[63] ^= 0x10;
      assert.equal(nc.ed25519Verify(unhex(v.public), msg, bad), false, 'altered signature');
    });
  }
});

// NaCl's tests/box.c, core1.c and core2.c (the same values ship in libsodium's test suite): Alice's secret
// key and Bob's public key are the RFC 7748 §6.1 pair.
describe('NaCl box / HSalsa20', () => {
  const alicesk = unhex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const bobpk = unhex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  const firstkey = '1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389';
  const nonce = unhex('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37');
  const m = unhex(
    'be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705',
  );
  // NaCl prints c without its 16 leading zero bytes, which leaves exactly tag ‖ ciphertext.
  const c =
    'f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74e355a5';
  test('hsalsa20: nacl core1 (firstkey = HSalsa20(shared, 0))', () =>
    assertBytes(nc.hsalsa20(unhex(shared), new Uint8Array(16)), firstkey, 'firstkey'));
  const secondkey = 'dc908dda0b9344a953629b733820778880f3ceb421bb61b91cbd4c3e66256ce4';
  test('hsalsa20: nacl core2 (secondkey)', () =>
    assertBytes(nc.hsalsa20(unhex(firstkey), nonce.subarray(0, 16)), secondkey, 'secondkey'));
  test('box: nacl box.c beforenm(bobpk, alicesk)', () => assertBytes(nc.boxBeforenm(bobpk, alicesk), firstkey, 'box key'));
  test('secretbox: nacl box.c seal', () => assertBytes(nc.secretboxSeal(unhex(firstkey), nonce, m), c, 'c'));
  test('secretbox: nacl box2.c open', () => assertBytes(nc.secretboxOpen(unhex(firstkey), nonce, unhex(c)), m, 'm'));
});

// The reference implementation's blake2s-kat.txt: input = 00 01 02 … of the given length.
describe('BLAKE2s reference KAT', () => {
  const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
  const unkeyed: [number, string][] = [
    [0, '69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9'],
    [1, 'e34d74dbaf4ff4c6abd871cc220451d2ea2648846c7757fbaac82fe51ad64bea'],
    [2, 'ddad9ab15dac4549ba42f49d262496bef6c0bae1dd342a8808f8ea267c6e210c'],
  ];
  for (const [len, out] of unkeyed) {
    test(`blake2s: blake2s-kat.txt unkeyed in[${len}]`, () => assertBytes(nc.blake2s(seq(len)), out, 'hash'));
  }
  test('blake2s: RFC 7693 Appendix B ("abc")', () =>
    assertBytes(nc.blake2s(ascii('abc')), '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982', 'hash'));
  for (const len of [0, 1]) {
    test(`blake2s keyed-256: blake2s-kat.txt keyed in[${len}]`, { skip: NO_KEYED_256 }, () => {});
  }
});
