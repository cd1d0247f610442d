#!/usr/bin/env bash
# The migration demo (docs/migration.md): starts the local stack, then migrates a small MariaDB shop to
# PostgreSQL while an application writes to it (examples/migrate-demo.ts): progress, verify, cutover with the
# takeover position, one write back through the reverse path. Ends by itself in about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
bash stack/up.sh
# shellcheck source=stack/env.sh
source stack/env.sh
exec node examples/migrate-demo.ts "$@"
