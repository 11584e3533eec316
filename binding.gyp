{
  # GRIDWIRE_SANITIZE=1 npm run build → ASan+UBSan build (load it with LD_PRELOAD=$(gcc -print-file-name=libasan.so)).
  "variables": {
    "sanitize%": "<!(node -p \"process.env.GRIDWIRE_SANITIZE === '1' ? 1 : 0\")",
    "crypto_sources": [
      "native/crypto/provider.cc",
      "native/crypto/crypto.cc",
      "native/crypto/aead.cc",
      "native/crypto/arx.cc",
      "native/crypto/hash.cc",
      "native/crypto/curve.cc",
      "native/crypto/secretbox.cc",
      "native/crypto/arx_simd.cc",
      "native/crypto/poly1305.cc"
    ],
    "wireguard_sources": [
      "native/core/allowedips.cc",
      "native/core/wireguard/cookie.cc",
      "native/core/wireguard/device.cc",
      "native/core/wireguard/keypair.cc",
      "native/core/wireguard/messages.cc",
      "native/core/wireguard/noise.cc",
      "native/core/wireguard/peer.cc",
      "native/core/wireguard/ratelimiter.cc",
      "native/core/wireguard/timers.cc",
      "native/io/endpoint.cc",
      "native/io/poller.cc",
      "native/io/tun.cc",
      "native/io/vnet.cc",
      "native/io/udp.cc",
      "native/engine/wg_engine.cc"
    ],
    "planetary_sources": [
      "native/core/planetary/address.cc",
      "native/core/planetary/bloom.cc",
      "native/core/planetary/frames.cc",
      "native/core/planetary/icmpv6.cc",
      "native/core/planetary/link.cc",
      "native/core/planetary/pathfinder.cc",
      "native/core/planetary/payload.cc",
      "native/core/planetary/router.cc",
      "native/core/planetary/session.cc",
      "native/core/planetary/tree.cc",
      "native/core/planetary/wire.cc",
      "native/io/tcp.cc",
      "native/io/tls.cc",
      "native/engine/planetary_engine.cc"
    ]
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "cflags_cc": ["-std=c++20", "-fno-exceptions", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags": ["-fvisibility=hidden", "-O2"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "conditions": [
      ["sanitize==1", {
        "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
        "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
        "ldflags": ["-fsanitize=address,undefined"]
      }]
    ]
  },
  "targets": [
    {
      "target_name": "gridwire",
      "sources": [
        "<@(crypto_sources)",
        "<@(wireguard_sources)",
        "<@(planetary_sources)",
        "native/addon/args.cc",
        "native/addon/event_pump.cc",
        "native/addon/wg_binding.cc",
        "native/addon/planetary_binding.cc",
        "native/addon/crypto_binding.cc",
        "native/addon/module.cc"
      ],
      "ldflags": ["-Wl,--exclude-libs,ALL", "-Wl,-Bsymbolic"]
    },
    {
      # The bench's floor: a TUN↔UDP relay with no cipher (native/bench/null_relay.cc).
      "target_name": "null-relay",
      "type": "executable",
      "sources": ["native/bench/null_relay.cc", "native/io/tun.cc", "native/io/vnet.cc", "native/io/poller.cc"]
    }
  ]
}
