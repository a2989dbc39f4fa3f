#!/usr/bin/env bash
# Fails when a process started by this test run is still alive. `make test` gives every step it runs the environment
# variable EVENTBUS_TEST_RUN=<a fresh id>; every process they start (servers, brokers, receivers, test hosts, processes
# inside network namespaces) inherits it. At the end nothing carrying it may be left: each is listed (PID, command
# line, working folder), then stopped, and the check fails. Processes that are ending get a few seconds to go.
# MSBuild worker nodes and the compiler server are build caches, not things the tests started: they are not counted.
#
# Usage: scripts/leftovers.sh RUN_ID
#        scripts/leftovers.sh --self-test   (leaves a marked process behind on purpose: it must be found and stopped)
set -euo pipefail

if [[ "${1:-}" == "--self-test" ]]; then
    id="self-test-$$-$RANDOM"
    # Not our child (started from a shell that exits at once), as a leaked server would be.
    pid="$(EVENTBUS_TEST_RUN="$id" bash -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!')"
    gone() { [[ ! -e "/proc/$pid" ]] || [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]]; }
    if LEFTOVERS_GRACE_S=0 bash "$0" "$id" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        echo "leftovers: FAILED: the self-test left process $pid behind and the check did not see it" >&2
        exit 1
    fi
    for _ in $(seq 1 50); do gone && break; sleep 0.1; done
    if ! gone; then
        kill -9 "$pid" 2>/dev/null || true
        echo "leftovers: FAILED: the check saw the self-test's process $pid but did not stop it" >&2
        exit 1
    fi
    echo "leftovers: self-test ok (a process left alive is found and stopped)"
    exit 0
fi

RUN_ID="${1:?usage: scripts/leftovers.sh RUN_ID}"
GRACE_S="${LEFTOVERS_GRACE_S:-10}"

python3 - "$RUN_ID" "$GRACE_S" <<'PY'
import os, signal, sys, time

run_id, grace = sys.argv[1], float(sys.argv[2])
mark = ("EVENTBUS_TEST_RUN=" + run_id).encode()
build_caches = (b"/nodemode:", b"VBCSCompiler", b"MSBuild.dll", b"--roslyn", b"build-server")

def ancestors():
    pid, seen = os.getpid(), set()
    while pid > 1:
        seen.add(pid)
        with open(f"/proc/{pid}/status") as f:
            pid = int(next(l for l in f if l.startswith("PPid:")).split()[1])
    return seen

def marked():
    mine, found = ancestors(), {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in mine:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if mark not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{name}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # a zombie: already dead, its parent has not reaped it yet
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if not cmdline or any(c in cmdline for c in build_caches):
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            cwd = "?"
        found[int(name)] = (cmdline.replace(b"\0", b" ").decode(errors="replace").strip(), cwd)
    return found

deadline = time.monotonic() + grace
left = marked()
while left and time.monotonic() < deadline:
    time.sleep(0.2)
    left = marked()

if not left:
    print(f"leftovers: none (no process of test run {run_id} is alive)")
    sys.exit(0)

print(f"leftovers: FAILED: {len(left)} process(es) started by test run {run_id} still alive:", file=sys.stderr)
for pid, (cmd, cwd) in sorted(left.items()):
    print(f"  pid {pid} in {cwd}: {cmd[:300]}", file=sys.stderr)
for pid in left:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
print("leftovers: stopped them (SIGKILL)", file=sys.stderr)
sys.exit(1)
PY
