#!/usr/bin/env bash
# Builds the DocC documentation of every library module (Sources/<Module>/<Module>.docc)
# with swift-docc-plugin, failing on any warning (an unresolved symbol link, an
# undocumented parameter). Archives land in .build/plugins/Swift-DocC/outputs/.
# Usage: scripts/docs.sh [Module ...]   (all by default)
set -euo pipefail
cd "$(dirname "$0")/.."
modules=("$@")
[ ${#modules[@]} -eq 0 ] && modules=(Linalg MoE ModelIO Evaluation Serving CostModel Report MoEKit MoEDistributed)
for module in "${modules[@]}"; do
  swift package --disable-sandbox generate-documentation --target "$module" --warnings-as-errors
done
