#!/usr/bin/env bash
# WireGuard throughput bench: two network namespaces joined by one veth pair; every row runs the same
# iperf3 TCP test (1 stream, $DUR s, A→B then B→A with -R) through a different tunnel pair.
#
#   rows (ROWS, default all):  veth  gg (gridwire<->gridwire)  nn (wireguard-go new↔new)
#                              gn (gridwire A ↔ wireguard-go new B)  ng (wireguard-go new A ↔ gridwire B)
#                              oo (wireguard-go old↔old)
#                              gg-off, gn-off: gridwire with every data-path switch off (TUN offload, UDP GSO,
#                              UDP GRO), i.e. the plain recvmmsg/sendmmsg + one-syscall-per-TUN-packet path
#   env:  DUR=5  ROWS="veth gg nn gn oo"  GW_ENV="GRIDWIRE_X=0 ..." (extra env for gridwire only)
#         GW_LABEL=...  (suffix for the gg/gn row names, e.g. to compare switches)  JSON=file (append rows)
#         PERF=gg  (perf record -g the gridwire ends of that row into /tmp/wgbench-perf.<pid>.data)
# Needs root, iperf3, wg, ip. Cleans up its namespaces and its own processes on any exit.
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
DUR=${DUR:-5}
ROWS=${ROWS:-"veth gg nn gn oo"}
GW_ENV=${GW_ENV:-}
GW_LABEL=${GW_LABEL:-}
WG_NEW=${WG_NEW:-/opt/gridwire-peers/bin/wireguard-go}
WG_OLD=${WG_OLD:-/usr/bin/wireguard-go}
GRIDWIRE="node $HERE/dist/cli.js"
GW_OFF="GRIDWIRE_TUN_OFFLOAD=0 GRIDWIRE_UDP_GSO=0 GRIDWIRE_UDP_GRO=0"
ID=$$
NSA=gwbA$ID NSB=gwbB$ID
IFA=gwa$ID IFB=gwb$ID           # tunnel interfaces (names must differ: UAPI sockets share /var/run/wireguard)
VA=gwva$ID VB=gwvb$ID
UA=10.213.0.1 UB=10.213.0.2      # underlay
OA=10.214.0.1 OB=10.214.0.2      # overlay
PORT=51820
PIDS=()
TMP=$(mktemp -d /tmp/wgbench.XXXXXX)

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NSA" 2>/dev/null
  ip netns del "$NSB" 2>/dev/null
  rm -f /var/run/wireguard/$IFA.sock /var/run/wireguard/$IFB.sock
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "wg-throughput: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
for t in iperf3 wg ip; do command -v $t >/dev/null || die "$t missing"; done

ip netns add "$NSA" && ip netns add "$NSB" || die "netns"
ip link add "$VA" type veth peer name "$VB" || die "veth"
ip link set "$VA" netns "$NSA"; ip link set "$VB" netns "$NSB"
ip -n "$NSA" addr add $UA/30 dev "$VA"; ip -n "$NSB" addr add $UB/30 dev "$VB"
for n in "$NSA" "$NSB"; do ip -n "$n" link set lo up; done
ip -n "$NSA" link set "$VA" up; ip -n "$NSB" link set "$VB" up

KA=$(wg genkey) KB=$(wg genkey)
PA=$(echo "$KA" | wg pubkey) PB=$(echo "$KB" | wg pubkey)
echo "$KA" >"$TMP/ka"; echo "$KB" >"$TMP/kb"

# start_impl <ns> <ifname> <impl>: runs the daemon in the foreground, in the background of this shell.
start_impl() {
  local ns=$1 ifn=$2 impl=$3
  case $impl in
    gw) ip netns exec "$ns" env $GW_ENV $GRIDWIRE wg -f "$ifn" >"$TMP/$ifn.log" 2>&1 & ;;
    gwoff) ip netns exec "$ns" env $GW_OFF $GRIDWIRE wg -f "$ifn" >"$TMP/$ifn.log" 2>&1 & ;;
    new) ip netns exec "$ns" env LOG_LEVEL=error "$WG_NEW" -f "$ifn" >"$TMP/$ifn.log" 2>&1 & ;;
    old) ip netns exec "$ns" env LOG_LEVEL=error "$WG_OLD" -f "$ifn" >"$TMP/$ifn.log" 2>&1 & ;;
  esac
  PIDS+=($!)
  for _ in $(seq 100); do [ -S /var/run/wireguard/$ifn.sock ] && return 0; sleep 0.05; done
  cat "$TMP/$ifn.log" >&2; die "$impl did not come up on $ifn"
}

stop_impls() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done; kill -9 "$p" 2>/dev/null; done
  PIDS=()
  rm -f /var/run/wireguard/$IFA.sock /var/run/wireguard/$IFB.sock
}

tunnel_up() {  # <implA> <implB>
  start_impl "$NSA" "$IFA" "$1"; start_impl "$NSB" "$IFB" "$2"
  ip netns exec "$NSA" wg set "$IFA" private-key "$TMP/ka" listen-port $PORT peer "$PB" endpoint $UB:$PORT allowed-ips $OB/32 || die "wg set A"
  ip netns exec "$NSB" wg set "$IFB" private-key "$TMP/kb" listen-port $PORT peer "$PA" endpoint $UA:$PORT allowed-ips $OA/32 || die "wg set B"
  ip -n "$NSA" addr add $OA/24 dev "$IFA"; ip -n "$NSB" addr add $OB/24 dev "$IFB"
  ip -n "$NSA" link set "$IFA" mtu 1420 up; ip -n "$NSB" link set "$IFB" mtu 1420 up
  ip netns exec "$NSA" ping -c 3 -i 0.2 -W 2 $OB >/dev/null || { cat "$TMP"/*.log >&2; die "tunnel $1↔$2 does not pass ping"; }
}

cpu_ticks() {  # total utime+stime ticks of PIDS and their children threads
  local s=0 p
  for p in "${PIDS[@]}"; do
    # the daemon is `ip netns exec` → exec'ed program, same pid
    [ -r /proc/$p/stat ] && s=$((s + $(awk '{print $14+$15}' /proc/$p/stat)))
  done
  echo $s
}

# iperf <target> [-R] → prints "gbits retransmits cpu_s"
iperf_run() {
  local dst=$1; shift
  ip netns exec "$NSB" iperf3 -s -1 -B "$dst" >/dev/null 2>&1 &
  local sp=$!
  sleep 0.3
  local c0; c0=$(cpu_ticks)
  ip netns exec "$NSA" iperf3 -c "$dst" -t "$DUR" -J "$@" >"$TMP/iperf.json" 2>/dev/null
  local c1; c1=$(cpu_ticks)
  wait $sp 2>/dev/null
  node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (j.error) { console.log("0 - -"); process.exit(0); }
    const e = j.end;
    const rx = e.sum_received.bits_per_second / 1e9;
    console.log(rx.toFixed(3), e.sum_sent.retransmits ?? "-", ((+process.argv[2]) / 100).toFixed(2));
  ' "$TMP/iperf.json" $((c1 - c0)) 2>/dev/null || echo "0 - -"
}

RESULTS=()
measure() {  # <row name>
  local name=$1 dst=$2
  local f r
  if [ -n "${PERF:-}" ] && [ "$PERF" = "$3" ]; then
    perf record -F 999 -g -o /tmp/wgbench-perf.$ID.data -p "$(IFS=,; echo "${PIDS[*]}")" -- sleep $((2 * DUR + 2)) >/dev/null 2>&1 &
    PERFPID=$!
  fi
  f=$(iperf_run "$dst")
  r=$(iperf_run "$dst" -R)
  [ -n "${PERFPID:-}" ] && { wait $PERFPID; unset PERFPID; echo "perf data: /tmp/wgbench-perf.$ID.data" >&2; }
  RESULTS+=("$name|$f|$r")
  printf '%-22s A→B %s  B→A %s\n' "$name" "$f" "$r" >&2
}

for row in $ROWS; do
  case $row in
    veth) measure veth $UB veth ;;
    gg) tunnel_up gw gw; measure "gridwire<->gridwire$GW_LABEL" $OB gg; stop_impls ;;
    nn) tunnel_up new new; measure "wg-go-new<->wg-go-new" $OB nn; stop_impls ;;
    gn) tunnel_up gw new; measure "gridwire<->wg-go-new$GW_LABEL" $OB gn; stop_impls ;;
    ng) tunnel_up new gw; measure "wg-go-new<->gridwire$GW_LABEL" $OB ng; stop_impls ;;
    gg-off) tunnel_up gwoff gwoff; measure "gridwire<->gridwire (off)" $OB gg-off; stop_impls ;;
    gn-off) tunnel_up gwoff new; measure "gridwire<->wg-go-new (off)" $OB gn-off; stop_impls ;;
    oo) tunnel_up old old; measure "wg-go-old<->wg-go-old" $OB oo; stop_impls ;;
    *) die "unknown row $row" ;;
  esac
  ip -n "$NSA" link del "$IFA" 2>/dev/null; ip -n "$NSB" link del "$IFB" 2>/dev/null
done

# Table: Gbit/s (retransmits, tunnel-process CPU seconds over the run) and ratios against wg-go-new.
ref_f= ref_r=
for x in "${RESULTS[@]}"; do
  IFS='|' read -r n f r <<<"$x"
  [ "$n" = "wg-go-new<->wg-go-new" ] && { ref_f=${f%% *}; ref_r=${r%% *}; }
done
echo
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); iperf3 TCP 1 stream ${DUR}s; MTU 1420; GW_ENV='$GW_ENV'"
printf '| %-26s | %9s | %6s | %6s | %9s | %6s | %6s | %8s | %8s |\n' row 'A→B Gb/s' retr cpu_s 'B→A Gb/s' retr cpu_s 'A→B/nn' 'B→A/nn'
printf '|%s|\n' "----------------------------|-----------|--------|--------|-----------|--------|--------|----------|----------"
for x in "${RESULTS[@]}"; do
  IFS='|' read -r n f r <<<"$x"
  read -r fg fre fc <<<"$f"; read -r rg rre rc <<<"$r"
  ra=- rb=-
  [ -n "$ref_f" ] && ra=$(awk -v a="$fg" -v b="$ref_f" 'BEGIN{ if (b > 0) printf "%.2f×", a / b; else print "-" }')
  [ -n "$ref_r" ] && rb=$(awk -v a="$rg" -v b="$ref_r" 'BEGIN{ if (b > 0) printf "%.2f×", a / b; else print "-" }')
  printf '| %-26s | %9s | %6s | %6s | %9s | %6s | %6s | %8s | %8s |\n' "$n" "$fg" "$fre" "$fc" "$rg" "$rre" "$rc" "$ra" "$rb"
  [ -n "${JSON:-}" ] && echo "{\"row\":\"$n\",\"gw_env\":\"$GW_ENV\",\"ab_gbps\":$fg,\"ab_retr\":\"$fre\",\"ba_gbps\":$rg,\"ba_retr\":\"$rre\",\"date\":\"$(date -u +%FT%TZ)\"}" >>"$JSON"
done
echo "(A is the left implementation; A→B: A sends. cpu_s: user+sys seconds of both tunnel daemons during that iperf run.)"
