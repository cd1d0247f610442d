#!/usr/bin/env bash
# README's first command (`npm run demo`): installs what is missing, starts the local stack, and runs the demo
# pipeline (examples/demo.ts) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash stack/up.sh
# shellcheck source=stack/env.sh
source stack/env.sh
exec node examples/demo.ts "$@"
