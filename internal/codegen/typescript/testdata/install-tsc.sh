#!/usr/bin/env bash
# Installs the TypeScript compiler that the codegen tests type-check the generated
# SDK with, from the npm registry, into a cache folder outside the repository.
# .ci/run calls it and exports ACCORD_TSC with the path it prints on its last line.
#
#   export ACCORD_TSC="$(bash internal/codegen/typescript/testdata/install-tsc.sh | tail -n1)"
set -euo pipefail
version="5.9.3"
dir="${ACCORD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/accord-tools}/typescript-$version"
tsc="$dir/node_modules/.bin/tsc"
if [ ! -x "$tsc" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "typescript@$version" >&2
fi
"$tsc" --version >&2
echo "$tsc"
