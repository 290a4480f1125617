#!/bin/sh
# Regenerates the wire model into a temporary directory and fails if it differs from the
# committed files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The generator reads one pinned botocore: use a private environment that has it.
python=${CODEGEN_PYTHON:-python3}
if ! "$python" -c 'import botocore, sys; sys.exit(botocore.__version__ != "1.43.11")' 2>/dev/null; then
    venv="$repo/.venv-codegen"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    python="$venv/bin/python"
fi
"$python" "$here/generate.py" --out "$tmp" >/dev/null
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
