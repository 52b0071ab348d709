#!/usr/bin/env bash
# Benchmark (not a test): how long the health-checking step waits for a fast app (busybox httpd, FROM scratch) with the
# probe schedule before issue 14 (first GET at once, then 0.25 s, then a try a second) and after it (first GET at once,
# then 50 ms doubling to 1 s; Features/Deployments/HealthCheck.cs). Each round starts a fresh container published on
# 127.0.0.1 as the panel does and times from the start returning to the first 200, the two schedules alternating; once
# for an app that listens at once, once for one that takes 0.3 s to start listening (DELAY).
#   bash bench/health-probe.sh [ROUNDS]      (default 10)
set -euo pipefail
rounds=${1:-10}
docker=/usr/bin/docker
work=$(mktemp -d /tmp/vpspanel-probebench-XXXXXX)
image=vpspanel-test/probebench:$$
name=vpspanel-probebench-$$
cleanup() { $docker rm -f "$name" >/dev/null 2>&1 || true; $docker rmi -f "$image" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

cp /bin/busybox "$work/busybox"; mkdir -p "$work/www"; echo ok > "$work/www/index.html"
# shellcheck disable=SC2016 # $DELAY is for the container's shell, not this one
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nLABEL vpspanel.test=probebench\nENV DELAY=0\nCMD ["/bin/busybox", "sh", "-c", "/bin/busybox sleep $DELAY; exec /bin/busybox httpd -f -p 8080 -h /www"]\n' > "$work/Dockerfile"
DOCKER_BUILDKIT=0 $docker build -q -t "$image" "$work" >/dev/null
# The probes run in one Python process (no process start per try, as in the panel): it starts the container itself,
# then times from `docker start` returning to the first 200.
python3 - "$rounds" "$image" "$name" <<'PY'
import socket, subprocess, sys, time, http.client, statistics
rounds, image, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
def ok(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2); c.request("GET", "/"); return c.getresponse().status < 400
    except OSError: return False
    except http.client.HTTPException: return False
def round_(waits, delay):
    port = free_port()
    subprocess.run(["/usr/bin/docker", "create", "--name", name, "-e", f"DELAY={delay}", "-p", f"127.0.0.1:{port}:8080", image], check=True, capture_output=True)
    subprocess.run(["/usr/bin/docker", "start", name], check=True, capture_output=True)
    t0 = time.monotonic(); tries = 0
    for w in waits:
        tries += 1
        if ok(port): break
        time.sleep(w)
    ms = (time.monotonic() - t0) * 1000
    subprocess.run(["/usr/bin/docker", "rm", "-f", name], check=True, capture_output=True)
    return ms, tries
before = [0.25] + [1.0] * 30
after = [0.05, 0.1, 0.2, 0.4, 0.8] + [1.0] * 30
print(f"{'app start / schedule (%d rounds)' % rounds:40} {'median ms':>10} {'median tries':>13}")
for delay in ("0", "0.3"):
    b, a = [], []
    for _ in range(rounds):
        b.append(round_(before, delay)); a.append(round_(after, delay))
    mb, ma = statistics.median(x for x, _ in b), statistics.median(x for x, _ in a)
    print(f"{'listens after %ss, before: 0, 0.25 s, 1 s' % delay:40} {mb:10.0f} {statistics.median(t for _, t in b):13}")
    print(f"{'listens after %ss, after: 0, 50 ms x2' % delay:40} {ma:10.0f} {statistics.median(t for _, t in a):13}")
    print(f"  after/before: {ma / mb:.2f}; before (ms): {' '.join(f'{x:.0f}' for x, _ in b)}; after (ms): {' '.join(f'{x:.0f}' for x, _ in a)}")
PY
