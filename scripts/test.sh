#!/usr/bin/env bash
# The test command: set-up (idempotent: installs missing packages, builds), then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir build --output-on-failure -j 2
