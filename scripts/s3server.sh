#!/usr/bin/env bash
# Private S3-compatible server for the tests:
#   scripts/s3server.sh start|stop|restart|status DIR PORT [BUCKET...]   (start also makes the buckets)
#   scripts/s3server.sh bucket DIR PORT NAME                              (makes one bucket)
# SeaweedFS (`weed server`, built by scripts/install-deps.sh) on 127.0.0.1 only: S3 on PORT, its
# master, volume and filer on PORT+1..PORT+3 and their gRPC ports on PORT+4..PORT+7 (PORT < 65528).
# It verifies AWS Signature V4 against one identity whose keys are in DIR/credentials (0600, the
# AWS shared-credentials format, profile [binlake]); they never appear in argv. docs/s3.md: why.
# Optional: S3_NOTIFY_URL=http://HOST:PORT/PATH makes the filer POST each create/update/rename
# under /buckets/ to that URL (SeaweedFS's webhook notifications, via DIR/notification.toml), with
# "Authorization: Bearer $S3_NOTIFY_TOKEN" when that is set. docs/s3.md, "Bucket notifications".
set -euo pipefail
cmd=${1:?usage: s3server.sh start|stop|restart|status|bucket DIR PORT [BUCKET...]}
dir=${2:?DIR}
port=${3:-9400}
shift $(($# < 3 ? $# : 3))
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pidf="$dir/weed.pid"
creds="$dir/credentials"
conf="$dir/s3.json"

find_weed() {
  for c in "${BINLAKE_WEED:-}" "$(command -v weed 2>/dev/null || true)" \
    "${BINLAKE_TOOLS:-$HOME/.local/share/binlake-tools}/bin/weed"; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return; }
  done
}

running() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

# DIR/notification.toml for S3_NOTIFY_URL (none without it, so a restart without it stops them).
# weed looks for it in -config_dir first (weed/util/config.go LoadConfiguration), then in ., then
# ~/.seaweedfs, /usr/local/etc/seaweedfs and /etc/seaweedfs.
notify_config() {
  local toml="$dir/notification.toml"
  rm -f "$toml"
  [ -n "${S3_NOTIFY_URL:-}" ] || return 0
  case "$S3_NOTIFY_URL" in
    http://* | https://*) ;;
    *) echo "s3server.sh: S3_NOTIFY_URL must be an http(s) URL" >&2; exit 2 ;;
  esac
  if printf '%s%s' "$S3_NOTIFY_URL" "${S3_NOTIFY_TOKEN:-}" | grep -q '["\\[:cntrl:]]'; then
    echo "s3server.sh: S3_NOTIFY_URL and S3_NOTIFY_TOKEN may not hold quotes, backslashes or control characters" >&2
    exit 2
  fi
  (
    umask 077
    printf '[notification.webhook]\nenabled = true\nendpoint = "%s"\nbearer_token = "%s"\n' \
      "$S3_NOTIFY_URL" "${S3_NOTIFY_TOKEN:-}" >"$toml"
    printf 'timeout_seconds = 5\nevent_types = ["create", "update", "rename"]\npath_prefixes = ["/buckets/"]\n' >>"$toml"
  )
}

start() {
  if running; then echo "s3 server already running on 127.0.0.1:$port (pid $(cat "$pidf"))"; return 0; fi
  WEED=$(find_weed)
  [ -n "$WEED" ] || { echo "s3server.sh: weed (SeaweedFS) not found; run scripts/install-deps.sh" >&2; exit 1; }
  if [ ! -f "$creds" ]; then
    (
      umask 077
      ak=BL$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
      sk=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
      printf '[binlake]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$ak" "$sk" >"$creds"
      printf '{"identities":[{"name":"binlake","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
        "$ak" "$sk" >"$conf"
    )
  fi
  mkdir -p "$dir/data"
  notify_config
  notify_args=()
  [ ! -f "$dir/notification.toml" ] || notify_args=(-config_dir="$dir")
  # S3_TLS_DIR (scripts/tls-certs.sh's folder): S3 over https on PORT+8 as well.
  tls_args=()
  [ -z "${S3_TLS_DIR:-}" ] || tls_args=(-s3.port.https=$((port + 8))
    -s3.cert.file="$S3_TLS_DIR/server-cert.pem" -s3.key.file="$S3_TLS_DIR/server-key.pem")
  "$WEED" "${notify_args[@]}" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" -volume.max=0 \
    -master.port=$((port + 1)) -volume.port=$((port + 2)) -filer -filer.port=$((port + 3)) \
    -master.port.grpc=$((port + 4)) -volume.port.grpc=$((port + 5)) \
    -filer.port.grpc=$((port + 6)) -s3 -s3.port="$port" -s3.port.grpc=$((port + 7)) \
    -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$conf" -master.telemetry=false \
    -master.volumeSizeLimitMB=64 "${tls_args[@]}" >"$dir/weed.log" 2>&1 &
  echo $! >"$pidf"
  # Healthy when an unsigned request gets S3's own 403 (AccessDenied) from the gateway and the
  # filer behind it answers.
  for _ in $(seq 1 600); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)
    fcode=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((port + 3))/" || true)
    if [ "$code" = 403 ] && [ "$fcode" != 000 ]; then break; fi
    if ! running; then echo "s3server.sh: weed exited, see $dir/weed.log" >&2; tail -5 "$dir/weed.log" >&2; exit 1; fi
    sleep 0.1
  done
  [ "${code:-}" = 403 ] || { echo "s3server.sh: no S3 answer on 127.0.0.1:$port after 60 s, see $dir/weed.log" >&2; exit 1; }
  echo "s3 server running on http://127.0.0.1:$port (keys in $creds, profile binlake)"
}

# PUT /NAME signed by curl's SigV4; the keys go to curl on stdin (-K -), never in argv.
bucket() {
  local name=$1 ak sk code
  ak=$(sed -n 's/^aws_access_key_id = //p' "$creds")
  sk=$(sed -n 's/^aws_secret_access_key = //p' "$creds")
  code=$(printf 'user = "%s:%s"\n' "$ak" "$sk" | curl -s -K - -o "$dir/bucket.out" -w '%{http_code}' \
    --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    -X PUT "http://127.0.0.1:$port/$name" || true)
  case "$code" in
    200) echo "bucket $name created" ;;
    409) echo "bucket $name exists" ;;
    *) echo "s3server.sh: cannot create bucket $name: HTTP $code $(cat "$dir/bucket.out")" >&2; exit 1 ;;
  esac
}

stop() {
  if running; then
    pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done  # test data: 5 s, then -9
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

case "$cmd" in
  start) start; for b in "$@"; do bucket "$b"; done ;;
  bucket) bucket "${1:?usage: s3server.sh bucket DIR PORT NAME}" ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo running; else echo stopped; exit 1; fi ;;
  *) echo "usage: s3server.sh start|stop|restart|status|bucket DIR PORT [BUCKET...]" >&2; exit 2 ;;
esac
