# Sourced by scripts/e2e.sh and scripts/dashboard-bench.sh: what the Node tests and the browser need, installed when
# missing (CI starts on a clean machine). Expects ROOT and a die() function.

E2E_DIR="$ROOT/tests/e2e"
# Debian's chromium: playwright-core's own browser download does not work here.
CHROMIUM="${EVENTBUS_CHROMIUM:-/usr/bin/chromium}"

# npm packages of tests/e2e: reinstalled only when the lock file changed since the last successful install. Install
# scripts are not run: nothing here needs them (Claude Code is started through its own launcher, cli-wrapper.cjs).
ensure_npm_packages() {
    local stamp="$E2E_DIR/node_modules/.e2e-lock-stamp" lock_sum npm_log
    lock_sum="$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_sum" ]]; then
        return
    fi
    echo "installing npm packages (npm ci in tests/e2e)"
    npm_log="$(mktemp)"
    if ! (cd "$E2E_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1); then
        cat "$npm_log" >&2
        rm -f "$npm_log"
        die "npm ci failed"
    fi
    rm -f "$npm_log"
    echo "$lock_sum" >"$stamp"
}

ensure_chromium() {
    [[ -x "$CHROMIUM" ]] && return
    command -v apt-get >/dev/null || die "$CHROMIUM is missing and apt-get is not available: install chromium"
    echo "installing chromium (apt-get install chromium)"
    local apt_log
    apt_log="$(mktemp)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        die "apt-get install chromium failed"
    fi
    rm -f "$apt_log"
    [[ -x "$CHROMIUM" ]] || die "chromium installed but $CHROMIUM is missing"
}
