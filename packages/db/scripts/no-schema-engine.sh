#!/usr/bin/env bash
# Stands in for Prisma's native schema engine where it cannot be downloaded. `prisma generate` does not
# run it; if anything does, say why instead of failing obscurely.
echo "The native Prisma schema engine is not installed here. Use 'npm run db:migrate' to apply migrations," >&2
echo "or set PRISMA_SCHEMA_ENGINE_BINARY to a real schema-engine binary for 'prisma migrate ...'." >&2
exit 1
