#!/usr/bin/env bash
# Fetches the dashboard's front-end files from npm at pinned versions into dashboard/static/vendor/, with
# each package's license beside its file and the version in every file name. `npm pack` checks each
# tarball against the integrity hash its registry publishes; SHA256SUMS records what was committed, and
# tests/unit/test_dashboard_static.py holds the files to it. Run from anywhere; needs npm and sha256sum.
# Bumping a version: change it here, run the script, update the names in dashboard/templates/base.html.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/dashboard/static/vendor"
HTMX=2.0.11
PICO=2.1.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "htmx.org@$HTMX" "@picocss/pico@$PICO" >/dev/null
mkdir htmx pico
tar -xzf "htmx.org-$HTMX.tgz" -C htmx
tar -xzf "picocss-pico-$PICO.tgz" -C pico
mkdir -p "$out"
cp htmx/package/dist/htmx.min.js "$out/htmx-$HTMX.min.js"
cp htmx/package/LICENSE "$out/htmx-$HTMX.LICENSE"
cp pico/package/css/pico.min.css "$out/pico-$PICO.min.css"
cp pico/package/LICENSE.md "$out/pico-$PICO.LICENSE.md"
cd "$out"
sha256sum "htmx-$HTMX.min.js" "htmx-$HTMX.LICENSE" "pico-$PICO.min.css" "pico-$PICO.LICENSE.md" >SHA256SUMS
cat SHA256SUMS
