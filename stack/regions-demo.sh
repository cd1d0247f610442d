#!/usr/bin/env bash
# The regions demo (README "Topologies"): starts the local stack, then runs a three-region mesh and a cascade
# with writers in every region (examples/regions-demo.ts), printing per-link lag and the conflict count every
# few seconds and verifying every node at the end. Ends by itself in about a minute (DEMO_SECONDS to change).
set -euo pipefail
cd "$(dirname "$0")/.."
bash stack/up.sh
# shellcheck source=stack/env.sh
source stack/env.sh
exec node examples/regions-demo.ts "$@"
