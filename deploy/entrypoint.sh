#!/bin/sh
# Entry point of the engine's image: `claims <command>` (default `worker`).
#
# Secrets arrive as files, never in the image or the compose file: every file in
# ${CLAIMS_SECRETS_DIR:-/run/secrets} whose name is one of the engine's variables
# (DATABASE_URL, CLAIMS_PAYLOAD_KEYS, CLAIMS_WEB_SECRET, CLAIMS_WEB_OIDC_CLIENT_SECRET, ...)
# becomes that variable, its content without the final newline. A variable already set in
# the environment is left as it is.
set -eu
dir="${CLAIMS_SECRETS_DIR:-/run/secrets}"
if [ -d "$dir" ]; then
  for file in "$dir"/*; do
    [ -f "$file" ] || continue
    name=$(basename "$file")
    case "$name" in
      DATABASE_URL|CLAIMS_*|TEMPORAL_*) ;;
      *) continue ;;
    esac
    if [ -z "$(printenv "$name" || true)" ]; then
      value=$(cat "$file")
      export "$name=$value"
    fi
  done
fi
# the calendar folder must exist (claims calendar load writes there; every worker reads it)
mkdir -p "${CLAIMS_CALENDAR_DIR:-/var/lib/claims/calendar}"
exec claims "$@"
