#!/usr/bin/env bash
# Regenerates the g4 CLI's HTTP layer from g4api's own OpenAPI document:
# writes Sources/g4/openapi.yaml (the document g4api serves, taken from
# Sources/SubmissionAPI/OpenAPIDocument.swift) and runs apple's
# swift-openapi-generator on it into Sources/g4/Generated. The generated code
# is committed, so builds and CI need no generator (a test checks that the
# committed copy of the document is the one g4api serves).
#
#   scripts/generate-client.sh [path/to/swift-openapi-generator]
#
# Without an argument, builds the generator (1.14.3, from the package mirror)
# in .build-openapi-generator first.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import re
src = open("Sources/SubmissionAPI/OpenAPIDocument.swift").read()
body = src.split('#"""\n', 1)[1].split('        """#', 1)[0]
lines = [l[8:] if l.startswith("        ") else l.lstrip(" ") for l in body.split("\n")]
open("Sources/g4/openapi.yaml", "w").write("\n".join(lines).rstrip("\n") + "\n")
PY
generator=${1:-}
if [ -z "$generator" ]; then
  dir=.build-openapi-generator
  if [ ! -d "$dir/src" ]; then
    git clone -q https://github.com/apple/swift-openapi-generator "$dir/src"
    git -C "$dir/src" checkout -q 1.14.3
    rm -f "$dir/src/Package.resolved"
  fi
  flock -o /tmp/g4-swift-build.lock swift build -c release --package-path "$dir/src" --product swift-openapi-generator
  generator="$dir/src/.build/release/swift-openapi-generator"
fi
"$generator" generate Sources/g4/openapi.yaml --config Sources/g4/openapi-generator-config.yaml \
  --output-directory Sources/g4/Generated
