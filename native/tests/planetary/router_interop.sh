#!/bin/bash
# Runs router_interop against a real yggdrasil 0.5.12 inside a private network namespace (root only).
# KEY_RANK=low|high makes the probe the root or the child. The namespace, config and processes are removed on every exit path.
set -u
PROBE=${1:?usage: router_interop.sh PROBE}
YGG=${YGG:-/opt/gridwire-peers/bin/yggdrasil}
CTL=${YGGCTL:-/opt/gridwire-peers/bin/yggdrasilctl}
NS=gwrouter$$
DIR=$(mktemp -d)
YPID=
cleanup() {
  [ -n "$YPID" ] && kill "$YPID" 2>/dev/null && wait "$YPID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || exit 2
"$YGG" -genconf -json > "$DIR/gen.json"
python3 - "$DIR" <<'PY'
import json, sys
d = sys.argv[1]
c = json.load(open(d + "/gen.json"))
c.update(Listen=["tcp://127.0.0.1:14001"], Peers=[], IfName="none", AdminListen="unix://" + d + "/admin.sock",
         MulticastInterfaces=[])
json.dump(c, open(d + "/ygg.json", "w"))
PY
ip netns exec "$NS" "$YGG" -useconffile "$DIR/ygg.json" > "$DIR/ygg.log" 2>&1 &
YPID=$!
sleep 2
ip netns exec "$NS" "$PROBE" 127.0.0.1 14001 ${SECONDS_TO_RUN:-10} ${KEY_RANK:-} &
PROBE_PID=$!
sleep $(( ${SECONDS_TO_RUN:-10} - 2 ))
echo "--- yggdrasil getPeers / getTree"
"$CTL" -endpoint "unix://$DIR/admin.sock" getPeers 2>&1 | head -5
"$CTL" -endpoint "unix://$DIR/admin.sock" getTree 2>&1 | head -5
wait $PROBE_PID
RC=$?
grep -iE "error|disconnect" "$DIR/ygg.log" | head -5
echo "probe exit $RC"
exit $RC
