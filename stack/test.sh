#!/usr/bin/env bash
# README's test command (`npm test`): installs what is missing, starts the local stack, then runs every
# test, unit and integration, one file at a time (the integration tests share one PostgreSQL, MariaDB and
# Kafka, and one of them restarts the broker).
set -euo pipefail
cd "$(dirname "$0")/.."
bash stack/up.sh
# shellcheck source=stack/env.sh
source stack/env.sh
# Tests that restart a shared server run here, one file at a time, where nothing else shares the stack.
export CDC_TEST_KAFKA_RESTART="${CDC_TEST_KAFKA_RESTART:-1}"
# The spec reporter, then each file's wall time, slowest first (where the suite's time goes).
exec node --test --test-concurrency=1 --test-timeout=900000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./test/support/file-times-reporter.ts --test-reporter-destination=stdout \
  'test/unit/**/*.test.ts' 'test/it/**/*.test.ts' "$@"
