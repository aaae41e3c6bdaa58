#!/usr/bin/env bash
# The main job: builds Loci and runs the demo on an embedded database in ./demo-db.
# Usage: tools/demo.sh [DIR] [--locomo [FILE]] [--question N]   (see loci-demo --help)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh release loci-demo loci_cli
exec build/release/tools/demo/loci-demo "$@"
