#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: set-up, format and lint checks, build, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh

# A private plugin registry, so no stale cache of an older build is ever used.
GST_REGISTRY="$(mktemp -d)/registry.bin"
export GST_REGISTRY

cargo fmt --all -- --check
cargo build --release --workspace --locked
cargo clippy --release --workspace --all-targets --locked -- -D warnings
# GLib criticals are bugs: make them fail the run, as gst-plugins-rs CI does.
G_DEBUG=fatal_warnings cargo test --release --workspace --locked
# The generated JavaScript client modules in the real kurento-client, and their .d.ts with tsc.
(cd module-creator/js-test && npm ci --no-audit --no-fund && node --test)
# The real kurento-client and example-module packages against the server with every module.
(cd server/js-test && npm ci --no-audit --no-fund && npm test)
# The tutorials in headless Debian Chromium (playwright-core, never a downloaded browser): in a
# network namespace holding only `lo` where the machine allows one (unshare -rn), else on the
# host with ICE restricted to loopback; either way nothing but 127.0.0.1 / ::1 is used.
(
  cd server/browser-test
  npm ci --no-audit --no-fund
  if unshare -rn true 2>/dev/null; then
    unshare -rn sh -c 'ip link set lo up && npm test'
  else
    npm test
  fi
)
