#!/usr/bin/env bash
# Copies the web UI's front-end libraries from npm (versions locked in
# services/sutazai/web/package-lock.json) into services/sutazai/web/static/vendor, with
# their licences and a manifest of sha256 sums. The copies are committed: the product serves
# them itself and never loads anything from a CDN. Run after changing package.json.
set -euo pipefail
cd "$(dirname "$0")/../services/sutazai/web"
command -v npm >/dev/null || { echo "error: npm is needed to refresh vendored assets (apt-get install npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --ignore-scripts --silent
out=static/vendor
mkdir -p "$out"
version="$(node -p 'require("./node_modules/cytoscape/package.json").version')"
cp node_modules/cytoscape/dist/cytoscape.esm.min.mjs "$out/cytoscape.esm.min.js"
cp node_modules/cytoscape/LICENSE "$out/cytoscape.LICENSE"
sum="$(sha256sum "$out/cytoscape.esm.min.js" | cut -d' ' -f1)"
cat > "$out/manifest.json" <<JSON
{
  "cytoscape": {"version": "$version", "file": "cytoscape.esm.min.js", "from": "cytoscape/dist/cytoscape.esm.min.mjs", "sha256": "$sum", "license": "cytoscape.LICENSE"}
}
JSON
echo "vendored cytoscape $version into $out"
