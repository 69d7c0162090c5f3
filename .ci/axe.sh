#!/usr/bin/env bash
# axe-core from npm for the accessibility browser test (tests/test_console_axe.py), installed into a cache folder
# outside the repository (never committed); prints that folder. Already installed: nothing is fetched.
#   QINGSHAN_AXE_VERSION  the axe-core version (default below; the test asks for the same one)
#   QINGSHAN_AXE_DIR      the folder (default ${XDG_CACHE_HOME:-~/.cache}/qingshan/axe-core-<version>)
# npm comes from Debian's packages (.ci/packages.sh).
set -euo pipefail
VERSION="${QINGSHAN_AXE_VERSION:-4.11.0}"
DIR="${QINGSHAN_AXE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/qingshan/axe-core-$VERSION}"
if [ ! -f "$DIR/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "[axe.sh] npm is not installed (apt-get install npm)" >&2
    exit 3
  fi
  mkdir -p "$DIR"
  echo "[axe.sh] installing axe-core@$VERSION into $DIR" >&2
  npm install --prefix "$DIR" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
    "axe-core@$VERSION" >&2
fi
echo "$DIR"
