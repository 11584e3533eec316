#!/usr/bin/env bash
# Installs the reference peers the interop suites run against:
#   - Debian bookworm packages (old peers: /usr/bin/wireguard-go 0.0.20220316, /usr/sbin/yggdrasil 0.4.7,
#     plus wg, iperf3, ping, tcpdump, PyNaCl, clang with its sanitizer runtime)
#   - the trixie builds of yggdrasil and wireguard-go (current peers), unpacked side by side under
#     $GRIDWIRE_PEERS_DIR (default /opt/gridwire-peers) without touching the system's apt sources.
# Idempotent: when everything is present at the expected versions it only checks and prints a summary.
set -euo pipefail

PEERS_DIR=${GRIDWIRE_PEERS_DIR:-/opt/gridwire-peers}
SUITE=trixie
APT_PKGS=(wireguard-tools wireguard-go yggdrasil iperf3 iputils-ping tcpdump python3-nacl clang libclang-rt-14-dev iproute2)
# Versions the suites are written against; the install fails rather than silently testing something else.
OLD_WG_GO=0.0.20220316
OLD_YGG=0.4.7
NEW_YGG=0.5.12
NEW_WG_GO=0.0.20231211

export DEBIAN_FRONTEND=noninteractive
# Other sessions on the same machine may be running apt at the same time: wait for the lock instead of failing.
APT_WAIT=(-o DPkg::Lock::Timeout=600)

die() { echo "install.sh: error: $*" >&2; exit 1; }
log() { echo "install.sh: $*"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs Debian packages and writes $PEERS_DIR)"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "apt-get/dpkg not found: this script needs Debian"

tmp=$(mktemp -d /tmp/gridwire-peers.XXXXXX)
policy_rc_created=
cleanup() {
  rm -rf "$tmp"
  [ -z "$policy_rc_created" ] || rm -f /usr/sbin/policy-rc.d
}
trap cleanup EXIT

# --- state checks ----------------------------------------------------------------------------------

pkg_version() { { dpkg-query -W -f '${db:Status-Status} ${Version}' "$1" 2>/dev/null || true; } | awk '$1=="installed"{print $2}'; }

missing_apt_pkgs() {
  local p out=()
  for p in "${APT_PKGS[@]}"; do [ -n "$(pkg_version "$p")" ] || out+=("$p"); done
  echo "${out[@]:-}"
}

# The trixie packages are tracked by their directory name <pkg>-<debian version>; the bin/ symlinks point
# into it. (wireguard-go's own --version can't be used: upstream's 0.0.20231211 still reports v0.0.20230223.)
linked_version() { # <link> <pkg> -> debian version of the unpacked package the link points into
  local target
  [ -x "$PEERS_DIR/bin/$1" ] || return 0
  target=$(readlink "$PEERS_DIR/bin/$1") || return 0
  case $target in "../$2-"*) ;; *) return 0 ;; esac
  target=${target#"../$2-"}
  echo "${target%%/*}"
}

upstream() { local v=${1#*:}; echo "${v%%-*}"; } # 1:0.5.12-2+b4 -> 0.5.12

new_peers_ok() {
  [ "$(upstream "$(linked_version yggdrasil yggdrasil)")" = "$NEW_YGG" ] &&
    [ "$(upstream "$(linked_version yggdrasilctl yggdrasil)")" = "$NEW_YGG" ] &&
    [ "$(upstream "$(linked_version wireguard-go wireguard-go)")" = "$NEW_WG_GO" ] &&
    "$PEERS_DIR/bin/yggdrasil" -version 2>/dev/null | grep -q "Build version: $NEW_YGG\$"
}

# --- services --------------------------------------------------------------------------------------

# The suites start their own peers in namespaces; a system-wide yggdrasil would grab a TUN and join a
# network, so its service must never run.
services_off() {
  # bookworm's postinst only re-enables yggdrasil.service if it was enabled before and never starts it,
  # but a machine may carry an enabled one from an earlier install; systemctl also works offline (no
  # systemd as PID 1), where it just edits the enablement symlinks.
  local unit
  if command -v systemctl >/dev/null; then
    for unit in yggdrasil.service; do
      if [ -d /run/systemd/system ]; then
        systemctl disable --now "$unit" >/dev/null 2>&1 || true
      elif [ "$(systemctl is-enabled "$unit" 2>/dev/null)" = enabled ]; then
        systemctl disable "$unit" >/dev/null 2>&1 || true
      fi
    done
  fi
  # Only the packaged service uses /etc/yggdrasil*.conf; test peers always get their own config.
  local pids
  pids=$(pgrep -f 'yggdrasil .*-useconffile /etc/yggdrasil' 2>/dev/null | tr '\n' ' ' || true)
  [ -z "$pids" ] || die "a system yggdrasil service is running (pid $pids); stop it, the suites start their own peers"
}

# --- bookworm packages -----------------------------------------------------------------------------

lists_fresh() {
  # Fresh = every package has a candidate and the newest list is under a day old: stale lists point at
  # pool files that point releases have removed.
  local newest
  newest=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null || true)
  [ -n "$newest" ] || return 1
  local p
  for p in "${APT_PKGS[@]}"; do
    apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]' || return 1
  done
}

install_bookworm() {
  local missing
  missing=$(missing_apt_pkgs)
  [ -n "$missing" ] || return 0
  log "installing from Debian: $missing"
  if ! lists_fresh; then
    apt-get "${APT_WAIT[@]}" update -q >"$tmp/update.log" 2>&1 || { cat "$tmp/update.log" >&2; die "apt-get update failed"; }
  fi
  # Keep maintainer scripts from starting services (policy-rc.d is what invoke-rc.d consults).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_rc_created=1
  fi
  # shellcheck disable=SC2086
  apt-get "${APT_WAIT[@]}" install -y -q --no-install-recommends $missing >"$tmp/install.log" 2>&1 ||
    { tail -n 40 "$tmp/install.log" >&2; die "apt-get install failed (full log above)"; }
  if [ -n "$policy_rc_created" ]; then rm -f /usr/sbin/policy-rc.d; policy_rc_created=; fi
  missing=$(missing_apt_pkgs)
  [ -z "$missing" ] || die "still not installed after apt-get install: $missing"
}

# --- trixie packages -------------------------------------------------------------------------------

debian_mirror() {
  # The URI that serves the main 'debian' archive (not debian-security), from deb822 or one-line sources.
  local files=() f uri
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || return 0
  uri=$(awk '
    /^[[:space:]]*#/ { next }
    tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i; next }
    $1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i ~ /:\/\//) { print $i; break } }
  ' "${files[@]}" | sed 's:/*$::' | grep -E '/debian$' | head -n 1 || true)
  echo "$uri"
}

install_trixie() {
  local mirror
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "could not find the Debian mirror URI (a '.../debian' entry) in /etc/apt/sources.list{,.d/}"
  log "fetching yggdrasil and wireguard-go from $SUITE ($mirror)"
  echo "deb $mirror $SUITE main" >"$tmp/sources.list"
  mkdir -p "$tmp/lists/partial" "$tmp/debs"
  # The separate sources, lists and disabled binary caches keep the system's apt state untouched.
  local o=(-o "Dir::Etc::sourcelist=$tmp/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$tmp/lists"
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
  apt-get "${o[@]}" update -q >"$tmp/update.log" 2>&1 || { cat "$tmp/update.log" >&2; die "apt-get update for $SUITE failed"; }
  # apt drops privileges to _apt for downloads; let it write here.
  if id _apt >/dev/null 2>&1; then chown _apt "$tmp/debs"; fi
  (cd "$tmp/debs" && apt-get "${o[@]}" download -q yggdrasil wireguard-go) >"$tmp/download.log" 2>&1 ||
    { cat "$tmp/download.log" >&2; die "apt-get download from $SUITE failed"; }

  local deb pkg ver dest old
  mkdir -p "$PEERS_DIR/bin"
  for deb in "$tmp"/debs/*.deb; do
    pkg=$(dpkg-deb -f "$deb" Package)
    ver=$(dpkg-deb -f "$deb" Version)
    dest="$PEERS_DIR/$pkg-$ver"
    # Unpack into a sibling and rename so a half-extracted tree never looks installed.
    rm -rf "$dest.tmp"
    dpkg -x "$deb" "$dest.tmp"
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
    case $pkg in
      # Inside the .deb: yggdrasil and yggdrasilctl live in usr/sbin, wireguard-go in usr/bin.
      yggdrasil)
        ln -sfn "../$pkg-$ver/usr/sbin/yggdrasil" "$PEERS_DIR/bin/yggdrasil"
        ln -sfn "../$pkg-$ver/usr/sbin/yggdrasilctl" "$PEERS_DIR/bin/yggdrasilctl" ;;
      wireguard-go)
        ln -sfn "../$pkg-$ver/usr/bin/wireguard-go" "$PEERS_DIR/bin/wireguard-go" ;;
    esac
    log "unpacked $pkg $ver into $dest"
    # Older unpacked versions of the same package are unreachable now.
    for old in "$PEERS_DIR/$pkg"-[0-9]*; do
      [ "$old" = "$dest" ] || [ ! -d "$old" ] || rm -rf "$old"
    done
  done
}

# --- main ------------------------------------------------------------------------------------------

start=$SECONDS
did=
if [ -n "$(missing_apt_pkgs)" ]; then install_bookworm; did=1; fi
services_off
if ! new_peers_ok; then install_trixie; did=1; fi

# Verify everything the suites rely on, whether just installed or found.
ov=$(pkg_version wireguard-go); [ "$(upstream "$ov")" = "$OLD_WG_GO" ] || die "bookworm wireguard-go is $ov, expected $OLD_WG_GO"
ov=$(pkg_version yggdrasil); [ "$(upstream "$ov")" = "$OLD_YGG" ] || die "bookworm yggdrasil is $ov, expected $OLD_YGG"
# Debian's 0.4.7 build says "Build version: unknown", so dpkg's version above is the check; this one
# only proves the binary runs. Note bookworm puts yggdrasil in /usr/sbin, not /usr/bin.
/usr/sbin/yggdrasil -version >/dev/null 2>&1 || die "/usr/sbin/yggdrasil does not run"
/usr/bin/wireguard-go --version 2>/dev/null | grep -q "v$OLD_WG_GO" || die "/usr/bin/wireguard-go --version does not report $OLD_WG_GO"
new_peers_ok || die "$PEERS_DIR/bin peers are not at yggdrasil $NEW_YGG / wireguard-go $NEW_WG_GO after install"
"$PEERS_DIR/bin/wireguard-go" --version >/dev/null 2>&1 || die "$PEERS_DIR/bin/wireguard-go does not run"
"$PEERS_DIR/bin/yggdrasilctl" -version >/dev/null 2>&1 || die "$PEERS_DIR/bin/yggdrasilctl does not run"
for b in wg ip ping iperf3 tcpdump clang; do command -v "$b" >/dev/null || die "$b not on PATH after install"; done
# python3 on PATH may be another interpreter (pyenv here); Debian's PyNaCl is for /usr/bin/python3.
/usr/bin/python3 -c 'import nacl.bindings' 2>/dev/null || die "/usr/bin/python3 cannot import nacl (python3-nacl)"

echo "reference peers ($([ -n "$did" ] && echo installed || echo already installed) in $((SECONDS - start))s):"
printf '  %-38s %s\n' \
  "/usr/bin/wireguard-go" "$(pkg_version wireguard-go) (bookworm)" \
  "/usr/sbin/yggdrasil" "$(pkg_version yggdrasil) (bookworm)" \
  "/usr/bin/wg" "$(pkg_version wireguard-tools)" \
  "$PEERS_DIR/bin/wireguard-go" "$(linked_version wireguard-go wireguard-go) ($SUITE)" \
  "$PEERS_DIR/bin/yggdrasil" "$(linked_version yggdrasil yggdrasil) ($SUITE)" \
  "$PEERS_DIR/bin/yggdrasilctl" "$(linked_version yggdrasilctl yggdrasil) ($SUITE)"
