# Sourced by bench/capacity.sh and bench/scale.sh. oha_summary ARGS… runs oha (pinned to core 1) and prints
# "requests/s p50 p99 p99.9" (latencies in ms) from its JSON summary; any status but 200 fails the run.
command -v oha >/dev/null || cargo install --locked --quiet oha
command -v taskset >/dev/null || { SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO apt-get install -y -qq util-linux >/dev/null; }
oha_summary() {
  taskset -c 1 oha --no-tui --output-format json "$@" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
p = r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
assert set(codes) <= {"200"}, codes
rps = r["summary"]["requestsPerSec"]
ms = [(p.get(k) or 0) * 1000 for k in ("p50", "p99", "p99.9")]
print("%.0f %.3f %.3f %.3f" % (rps, ms[0], ms[1], ms[2]))'
}
