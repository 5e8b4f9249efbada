#!/usr/bin/env bash
# Spark reads what lakelet writes: lakelet writes tables with deletion vectors, column mapping,
# nested columns, a change data feed, checkpoints and awkward partition values; Spark (PySpark with
# delta-spark) reads every version and compares with lakelet's own reading; then Spark deletes by
# deletion vector in one of them and lakelet reads Spark's result back.
#
#   npm run check:spark          # exit 0: Spark and lakelet agree
#
# Not part of `npm test`: PySpark and its JVM take ~370 MB and a run about two minutes. It installs
# PySpark and delta-spark (pinned below) into .tools/spark-venv (git-ignored, cached by a stamp);
# delta-spark fetches its jars from Maven Central into ~/.ivy2 on the first run. Needs Java 17
# (Spark 3.5) and python3 with venv. Tables are written under .cache/spark-check (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.tools/spark-venv"
PINS="pyspark==3.5.3 delta-spark==3.2.1"
WORK="$ROOT/.cache/spark-check"

log() { printf '[spark-check] %s\n' "$*"; }
command -v java >/dev/null 2>&1 || { log "ERROR: java not found (Spark 3.5 needs Java 8, 11 or 17)"; exit 1; }

if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.lakelet-stamp" 2>/dev/null)" != "$PINS" ]]; then
  log "installing $PINS into $VENV (once)"
  rm -rf "$VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet $PINS
  echo "$PINS" > "$VENV/.lakelet-stamp"
fi

log "writing the tables with lakelet into $WORK"
node --import tsx scripts/spark-check/make-tables.ts "$WORK"
log "reading them with Spark"
"$VENV/bin/python" scripts/spark-check/read_with_spark.py "$WORK"
log "reading Spark's write back with lakelet"
node --import tsx scripts/spark-check/verify-spark-write.ts "$WORK"
log "Spark and lakelet agree"
