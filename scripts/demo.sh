#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build everything, start
# the media server with every module of the repository and show that it answers, then run the
# face-overlay demo: the bundled faces clip through `kmsfaceoverlay` with a hat on every face,
# written to out/faces-with-hats.webm (open it with any video player or browser).
#
#   bash scripts/demo.sh           # everything above; the server is stopped at the end
#   bash scripts/demo.sh --serve   # the same, then keeps the server running (Ctrl-C stops it)
set -euo pipefail
cd "$(dirname "$0")/.."

SERVE=0
[[ "${1:-}" == "--serve" ]] && SERVE=1

bash scripts/setup-debian.sh
cargo build --release --workspace --locked

export GST_PLUGIN_PATH="$PWD/target/release"
GST_REGISTRY="$(mktemp -d)/registry.bin"
export GST_REGISTRY
mkdir -p out

# The media server: every module library and GStreamer plugin of the build, on 127.0.0.1:8888.
export KURENTO_MODULES_PATH="$PWD/target/release"
echo "== kurento-media-server --list (the factories of every module)"
target/release/kurento-media-server --list | sed -n 1,40p
target/release/kurento-media-server >out/kurento-media-server.log 2>&1 &
KMS_PID=$!
stop_server() { kill "$KMS_PID" 2>/dev/null || true; wait "$KMS_PID" 2>/dev/null || true; }
trap stop_server EXIT
for _ in $(seq 1 100); do
  grep -q "Listening on ws://" out/kurento-media-server.log && break
  kill -0 "$KMS_PID" 2>/dev/null || { cat out/kurento-media-server.log; exit 1; }
  sleep 0.1
done
echo "== The server answers on ws://127.0.0.1:8888/kurento (a tiny client run):"
python3 scripts/kms-try.py ws://127.0.0.1:8888/kurento

echo "== The face-overlay demo with gst-launch-1.0"
gst-launch-1.0 -q \
  filesrc location=gst-tests/media/faces_640x480.webm ! matroskademux ! vp8dec ! videoconvert \
  ! kmsfaceoverlay image-to-overlay="image,offsetXPercent=(double)-0.2,offsetYPercent=(double)-1.0,widthPercent=(double)1.4,heightPercent=(double)1.1,url=(string)gst-tests/media/hat.png" \
  ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink location=out/faces-with-hats.webm

echo "Wrote out/faces-with-hats.webm: the bundled clip with a hat drawn on every detected face."
echo
echo "Try the server: run 'bash scripts/demo.sh --serve' (or the command below) and point any"
echo "Kurento client at ws://127.0.0.1:8888/kurento, e.g. 'python3 scripts/kms-try.py', or the"
echo "kurento-client tests: (cd server/js-test && npm ci && KMS_BUILD_DIR=target/release npm test)."
echo "  KURENTO_MODULES_PATH=target/release GST_PLUGIN_PATH=target/release target/release/kurento-media-server"
if [[ $SERVE == 1 ]]; then
  echo "Serving on ws://127.0.0.1:8888/kurento (log: out/kurento-media-server.log); Ctrl-C stops it."
  wait "$KMS_PID"
fi
