#!/usr/bin/env bash
# Installs what binlake needs to build and test, by package name, skipping what is already there.
set -euo pipefail
APT_PKGS=(cmake ninja-build g++ clang clang-format clang-tidy libclang-rt-14-dev libgtest-dev
  libmariadb-dev mariadb-server mariadb-client libzstd-dev zlib1g-dev libtomlplusplus-dev
  nlohmann-json3-dev libssl-dev libcurl4-openssl-dev pkg-config libcpp-httplib-dev
  openjdk-17-jre-headless chromium)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null || true
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# Python packages used by tests and benchmarks (the peers: python-mysql-replication for the
# decoder, DuckDB for the apply; boto3 reads the S3 pipeline tests' staging back).
# delta-spark (pulls pyspark) runs jobs/spark/binlake_apply.py in local mode for the Spark tests.
PY_PKGS=(mysql-replication==1.0.17 pymysql pyarrow==26.0.1 deltalake==1.6.6 duckdb==2.0.0 boto3
  delta-spark==4.4.0)
for p in "${PY_PKGS[@]}"; do
  name=${p%%==*}
  python3 -m pip show -q "$name" >/dev/null 2>&1 || python3 -m pip install -q "$p"
done
# The S3-compatible test server: SeaweedFS from the Go module proxy (MinIO's releases are not served
# there; docs/s3.md). Its go.mod has replace directives, so `go install mod@v` refuses it: build the
# downloaded module as the main module instead. Apache-2.0; a test server only, never linked.
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
TOOLS=${BINLAKE_TOOLS:-$HOME/.local/share/binlake-tools}
if [ ! -x "$TOOLS/bin/weed" ] || [ "$(cat "$TOOLS/weed.version" 2>/dev/null)" != "$WEED_VERSION" ]; then
  echo "install-deps: building SeaweedFS $WEED_VERSION into $TOOLS/bin/weed (a few minutes)"
  src=$(go mod download -json "github.com/seaweedfs/seaweedfs@$WEED_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work=$(mktemp -d)
  cp -r "$src" "$work/seaweedfs" && chmod -R u+w "$work/seaweedfs"
  mkdir -p "$TOOLS/bin"
  (cd "$work/seaweedfs/weed" && go build -o "$TOOLS/bin/weed" .)
  echo "$WEED_VERSION" >"$TOOLS/weed.version"
  rm -rf "$work"
fi
# playwright-core (npm) drives Debian's chromium in the dashboard's browser test
# (tests/ops/dashboard_itest.py); the version is pinned in tests/ops/package.json.
PW_DIR="$TOOLS/playwright"
if ! command -v npm >/dev/null; then
  # Node from any source will do (a NodeSource nodejs carries its own npm): Debian's otherwise.
  echo "install-deps: apt installing nodejs npm"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm >/dev/null
fi
if ! cmp -s "$(dirname "$0")/../tests/ops/package.json" "$PW_DIR/package.json" ||
  [ ! -d "$PW_DIR/node_modules/playwright-core" ]; then
  echo "install-deps: npm installing playwright-core into $PW_DIR"
  mkdir -p "$PW_DIR"
  cp "$(dirname "$0")/../tests/ops/package.json" "$PW_DIR/package.json"
  (cd "$PW_DIR" && npm install --no-audit --no-fund --silent >/dev/null)
fi
# The Delta Lake jars for delta-spark come from Maven Central through Spark's ivy resolver; resolve
# them once here so that the first Spark test does not spend its time budget downloading.
if ! ls "$HOME"/.ivy2*/jars/io.delta_delta-spark_*.jar >/dev/null 2>&1; then
  echo "install-deps: resolving the delta-spark jars from Maven Central"
  python3 "$(dirname "$0")/../jobs/spark/binlake_apply.py" --warm-up >/dev/null
fi
