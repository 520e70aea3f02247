#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test and run.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

packages=(
  # build tools
  pkgconf clang libclang-dev g++ git
  # GStreamer: libraries for the -sys crates, the elements our pipelines use, the CLI tools
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice gstreamer1.0-tools
  # OpenCV 4 (C++ API through the opencv crate) and its Haar/LBP cascades
  libopencv-dev opencv-data gstreamer1.0-opencv
  # textoverlay (Pango) for kmsshowdata; zbar for kmssenddata comes with plugins-bad
  gstreamer1.0-x
  # OCR for the plate detector
  libtesseract-dev libleptonica-dev tesseract-ocr-eng
  # The browser tests (server/browser-test): headless Chromium driven by playwright-core, run in
  # a network namespace with only lo (ip)
  chromium iproute2
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node and npm for the real kurento-client tests; a machine may already have its own Node build.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
