#!/usr/bin/env bash
# Install napari-scribbleseg with everything the app and the tests need, on a fresh machine.
# torch is pinned: 2.13.0 is a CPU build on this workplace's disk; an unpinned torch pulls a multi-GB CUDA
# build. Users with a GPU install their CUDA build of torch first; pip then keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import torch" 2>/dev/null; then
  "$PY" -m pip install --quiet "torch==2.13.0"
fi
"$PY" -m pip install --quiet -e ".[napari,qt,test,dicom]"
# System libraries Qt needs for offscreen widgets and Xvfb for rendering (Debian/Ubuntu, when root).
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && ! command -v xvfb-run >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 \
    libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxkbcommon-x11-0 libgl1 \
    libegl1 libfontconfig1 libdbus-1-3 >/dev/null
fi
