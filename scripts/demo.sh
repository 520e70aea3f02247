#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build everything, and run
# the face-overlay demo: the bundled faces clip through `kmsfaceoverlay` with a hat on every
# face, written to out/faces-with-hats.webm (open it with any video player or browser).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh
cargo build --release --workspace --locked

export GST_PLUGIN_PATH="$PWD/target/release"
GST_REGISTRY="$(mktemp -d)/registry.bin"
export GST_REGISTRY
mkdir -p out

gst-launch-1.0 -q \
  filesrc location=gst-tests/media/faces_640x480.webm ! matroskademux ! vp8dec ! videoconvert \
  ! kmsfaceoverlay image-to-overlay="image,offsetXPercent=(double)-0.2,offsetYPercent=(double)-1.0,widthPercent=(double)1.4,heightPercent=(double)1.1,url=(string)gst-tests/media/hat.png" \
  ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink location=out/faces-with-hats.webm

echo "Wrote out/faces-with-hats.webm: the bundled clip with a hat drawn on every detected face."
