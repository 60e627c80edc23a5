#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs them for SECONDS in all (split between them),
# corpora seeded from the binlog fixtures, the CSV samples and Delta logs written by binlake and
# Spark (tests/data/delta-logs): scripts/fuzz.sh SECONDS
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/.."
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBINLAKE_FUZZ=ON -DBINLAKE_SANITIZE=ON >/dev/null
cmake --build build-fuzz --target binlog_decoder_fuzz change_file_reader_fuzz delta_log_fuzz
half=$(( (secs + 2) / 3 ))
corpus=build-fuzz/corpus/binlog_decoder
mkdir -p "$corpus"
cp tests/data/binlogs/*.0* tests/data/binlogs/*.binlog tests/data/fuzz-regressions/* "$corpus"/ 2>/dev/null || true
build-fuzz/binlog_decoder_fuzz -max_total_time="$half" -timeout=10 -max_len=262144 -rss_limit_mb=2048 -artifact_prefix=build-fuzz/ \
  -print_final_stats=1 "$corpus" 2>&1 | tail -15
csv_corpus=build-fuzz/corpus/change_file_reader
mkdir -p "$csv_corpus"
cp tests/data/csv/*.csv "$csv_corpus"/
build-fuzz/change_file_reader_fuzz -max_total_time="$half" -timeout=10 -max_len=65536 -rss_limit_mb=2048 -artifact_prefix=build-fuzz/ \
  -print_final_stats=1 "$csv_corpus" 2>&1 | tail -15
log_corpus=build-fuzz/corpus/delta_log
mkdir -p "$log_corpus"
cp tests/data/delta-logs/* "$log_corpus"/
build-fuzz/delta_log_fuzz -max_total_time="$half" -timeout=10 -max_len=65536 -rss_limit_mb=2048 -artifact_prefix=build-fuzz/ \
  -print_final_stats=1 "$log_corpus" 2>&1 | tail -15
