#!/usr/bin/env bash
# clang-format (must be clean) and clang-tidy (bugprone, performance, ...) over the C++ sources.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
files=$(git ls-files '*.cc' '*.h')
clang-format --dry-run -Werror $files
# One clang-tidy per core (each file is independent).
out=$(git ls-files 'src/*.cc' | xargs -P "$(nproc)" -n 4 clang-tidy -p "$BUILD" --quiet 2>/dev/null |
  grep -E 'warning:|error:' || true)
if [ -n "$out" ]; then echo "$out"; echo "lint: clang-tidy found the problems above"; exit 1; fi
echo "lint: clang-format and clang-tidy clean"
