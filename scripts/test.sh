#!/usr/bin/env bash
# Set up and run the whole test suite. Fails when pytest fails or collects no test (exit 5).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
python3 -m pytest -q "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
