#!/usr/bin/env bash
# The main job: builds Loci and runs the demo on an embedded database in ./demo-db.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh release loci-demo loci_cli
exec build/release/tools/demo/loci-demo "${1:-demo-db}"
