#!/usr/bin/env bash
# Generates the Prisma client into src/generated/prisma.
#
# `prisma generate` compiles the schema with WebAssembly and never runs the native schema engine, yet the
# Prisma 7 CLI downloads that engine before it starts, and offline the download fails. Pointing
# PRISMA_SCHEMA_ENGINE_BINARY at a stub that refuses to run skips the download. Where you have a real
# engine, set PRISMA_SCHEMA_ENGINE_BINARY yourself and it is used as is.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
if [ -z "${PRISMA_SCHEMA_ENGINE_BINARY:-}" ]; then
  export PRISMA_SCHEMA_ENGINE_BINARY="$root/packages/db/scripts/no-schema-engine.sh"
fi
exec node_modules/.bin/prisma generate
