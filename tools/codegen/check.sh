#!/bin/sh
# Regenerates the wire model into a temporary directory and fails if it differs from the
# committed files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/generate.py" --out "$tmp" >/dev/null
status=0
for file in "$tmp"/*.rs; do
    name=$(basename "$file")
    if ! diff -u "$repo/crates/nimbus-model/src/$name" "$file"; then
        status=1
    fi
done
if [ "$status" -ne 0 ]; then
    echo "generated model is stale: run tools/codegen/generate.py and commit the result" >&2
fi
exit "$status"
