#!/usr/bin/env bash
# Installs the test peers lakelet checks itself against: the systems that must read what lakelet
# writes and write what lakelet reads. Idempotent and cached: a second run with nothing changed
# takes about a second.
#
#   bash scripts/setup-peers.sh              # fails when a peer cannot be installed
#   bash scripts/setup-peers.sh --optional   # `npm test` / `npm run bench` run this first (pretest,
#                                            # prebench): without CI=true a peer that cannot be
#                                            # installed (no python3, offline) is a warning and the
#                                            # tests that need it skip; with CI=true it fails.
#
# Sections (one function each, called from main at the bottom):
#   1. python_peers     .venv/ with delta-rs (the `deltalake` package), pinned in
#                       test/peers/requirements.txt. Stamp: .venv/.lakelet-stamp.
#   2. database_peers   MariaDB and PostgreSQL via apt-get, for the incremental sources.   (not yet)
#   3. go_emulators     emulators built with Go into .tools/bin: fake-gcs-server (the GCS
#                       emulator the GcsObjectStore tests start). Stamp: .tools/.lakelet-stamp-go.
#   4. bigquery_emulator  bqemulator (the BigQuery emulator) in its own venv .tools/bqemulator-venv,
#                       pinned in test/peers/bqemulator-requirements.txt. Stamp: <venv>/.lakelet-stamp.
#
# Environment:
#   LAKELET_VENV   where the venv lives (default: <repo>/.venv). test/support/peers.ts reads the same
#                  variable, so pointing it elsewhere moves both.
#   PYTHON         the interpreter that creates the venv (default: python3). Needs 3.10 or newer.
#   GO             the go command that builds the emulators (default: go). fake-gcs-server needs Go
#                  1.26; a go from 1.21 on fetches that toolchain itself (GOTOOLCHAIN=auto).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[setup-peers] %s\n' "$*"; }
die() { printf '[setup-peers] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Python peers: delta-rs
# ---------------------------------------------------------------------------------------------
python_peers() {
  local venv="${LAKELET_VENV:-$ROOT/.venv}"
  local requirements="$ROOT/test/peers/requirements.txt"
  local stamp="$venv/.lakelet-stamp"
  local py="${PYTHON:-python3}"

  [[ -f "$requirements" ]] || die "missing $requirements"
  command -v "$py" >/dev/null 2>&1 || die "$py not found: install Python 3.10+ (Debian: apt-get install python3 python3-venv)"

  # The stamp holds the requirements hash (and, for people, the Python version it was built with).
  # A changed requirements file rebuilds; so does a venv that no longer imports the peer (its
  # interpreter upgraded away, site-packages damaged).
  local want
  want="requirements-sha256=$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want"* ]]; then
    # Stamp matches; still make sure the venv was not broken underneath us (interpreter removed,
    # half-deleted site-packages).
    if "$venv/bin/python" -c 'import deltalake, pyarrow' >/dev/null 2>&1; then
      log "python peers: cached ($venv matches test/peers/requirements.txt), nothing to install"
      return 0
    fi
    log "python peers: stamp matches but the venv cannot import deltalake; rebuilding"
  fi

  local version
  version="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "$py is Python $version; deltalake needs 3.10 or newer"

  # Always from scratch: no stale packages from older requirements, no half-installed ones that
  # pip would take as present. pip's download cache keeps this at about ten seconds.
  if [[ -e "$venv" && ! -f "$venv/pyvenv.cfg" ]] && [[ -n "$(ls -A "$venv" 2>/dev/null)" ]]; then
    die "$venv exists and is not a venv (no pyvenv.cfg); refusing to replace it. Move it, or point LAKELET_VENV elsewhere."
  fi
  log "python peers: creating $venv with $py (Python $version)"
  rm -rf "$venv"
  "$py" -m venv "$venv" || die "'$py -m venv' failed (Debian: apt-get install python3-venv)"
  log "python peers: installing test/peers/requirements.txt"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
    --only-binary=:all: -r "$requirements"
  "$venv/bin/python" -c 'import deltalake, pyarrow; print("[setup-peers] python peers: deltalake", deltalake.__version__, "pyarrow", pyarrow.__version__)'
  printf '%s python=%s\n' "$want" "$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])')" >"$stamp"
}

# ---------------------------------------------------------------------------------------------
# 2. Database peers: MariaDB and PostgreSQL (apt-get)                               NOT YET
# ---------------------------------------------------------------------------------------------
# For the incremental database sources (adapters/sources/{mysql,postgres}). When added: install
# with `apt-get install -y --no-install-recommends mariadb-server postgresql` only when the
# binaries are missing (so a second run stays fast), run `apt-get update` once before, and start
# nothing here: tests start their own throwaway servers on loopback.
database_peers() {
  :
}

# ---------------------------------------------------------------------------------------------
# 3. Go emulators into .tools/bin
# ---------------------------------------------------------------------------------------------
# fake-gcs-server, the GCS emulator that test/support/gcs-emulator.ts starts on loopback (one
# static binary). `go install module@version` at an exact version; about 2.5 minutes cold on two
# cores, then cached by a stamp (module@version and the Go that built it). The module and build
# caches are Go's own defaults (outside the repository, shared by every checkout), so a rebuild in a
# second worktree takes seconds; nothing lands in the repository but the git-ignored .tools/.
GO_EMULATORS=(github.com/fsouza/fake-gcs-server@v1.56.1)

go_emulators() {
  local bin="$ROOT/.tools/bin"
  local stamp="$ROOT/.tools/.lakelet-stamp-go"
  local go="${GO:-go}"
  local want="${GO_EMULATORS[*]}"
  local all_there=1 module
  for module in "${GO_EMULATORS[@]}"; do
    [[ -x "$bin/$(basename "${module%@*}")" ]] || all_there=0
  done
  if ((all_there)) && [[ -f "$stamp" && "$(cat "$stamp")" == "$want"* ]]; then
    log "go emulators: cached ($want in .tools/bin), nothing to build"
    return 0
  fi

  command -v "$go" >/dev/null 2>&1 || die "$go not found: install Go (Debian: apt-get install golang-go; one older than 1.26 fetches 1.26 itself) to build the GCS emulator"
  mkdir -p "$bin"
  rm -f "$stamp"
  for module in "${GO_EMULATORS[@]}"; do
    log "go emulators: building $module into .tools/bin (about 2.5 minutes the first time)"
    # GOWORK/GOFLAGS cleared: a go.work or -mod=vendor of the caller's must not leak into a module@version
    # install. CGO off: a static binary that needs nothing from the machine.
    GOBIN="$bin" GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 "$go" install "$module" \
      || die "'go install $module' failed (is the Go module proxy reachable? GOPROXY=$("$go" env GOPROXY))"
  done
  printf '%s go=%s\n' "$want" "$("$go" env GOVERSION)" >"$stamp"
  log "go emulators: built $want"
}

# ---------------------------------------------------------------------------------------------
# 4. BigQuery emulator: bqemulator in its own venv
# ---------------------------------------------------------------------------------------------
# test/support/bigquery-emulator.ts starts `bqemulator start` on loopback. Its own venv (not .venv/):
# its closure pins pyarrow, typing_extensions, ... to versions of its own, and delta-rs's venv must
# not move. Its DuckDB loads the spatial extension at startup and would download it; the pinned
# duckdb-extension-spatial wheel carries it, and importing it once from the wheel (below) puts it
# where DuckDB looks, so the emulator starts offline. About 30 s cold with pip's cache.
# LAKELET_BQEMULATOR_VENV moves it (test/support/bigquery-emulator.ts reads the same variable).
bigquery_emulator() {
  local venv="${LAKELET_BQEMULATOR_VENV:-$ROOT/.tools/bqemulator-venv}"
  local requirements="$ROOT/test/peers/bqemulator-requirements.txt"
  local stamp="$venv/.lakelet-stamp"
  local py="${PYTHON:-python3}"
  local check="import duckdb, bqemulator; duckdb.connect().execute(\"LOAD spatial\")"

  [[ -f "$requirements" ]] || die "missing $requirements"
  command -v "$py" >/dev/null 2>&1 || die "$py not found: install Python 3.10+ (Debian: apt-get install python3 python3-venv)"
  local want
  want="requirements-sha256=$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ -x "$venv/bin/bqemulator" && -f "$stamp" && "$(cat "$stamp")" == "$want"* ]]; then
    # The entry script too: its shebang names the venv's path at creation, so a venv moved or
    # reached through another path (a worktree's symlink) has a bqemulator that cannot start.
    if "$venv/bin/python" -c "$check" >/dev/null 2>&1 && "$venv/bin/bqemulator" --version >/dev/null 2>&1; then
      log "bigquery emulator: cached ($venv matches test/peers/bqemulator-requirements.txt), nothing to install"
      return 0
    fi
    log "bigquery emulator: stamp matches but the venv cannot load DuckDB's spatial extension or start bqemulator; rebuilding"
  fi
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || die "$py is older than Python 3.10; bqemulator needs 3.10 or newer"
  if [[ -e "$venv" && ! -f "$venv/pyvenv.cfg" ]] && [[ -n "$(ls -A "$venv" 2>/dev/null)" ]]; then
    die "$venv exists and is not a venv (no pyvenv.cfg); refusing to replace it. Move it, or point LAKELET_BQEMULATOR_VENV elsewhere."
  fi
  log "bigquery emulator: creating $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv" || die "'$py -m venv' failed (Debian: apt-get install python3-venv)"
  log "bigquery emulator: installing test/peers/bqemulator-requirements.txt"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
    --only-binary=:all: -r "$requirements"
  # Offline: the extension from the wheel, once, instead of DuckDB's download at the first start.
  "$venv/bin/python" -c "from duckdb_extensions import import_extension; import_extension('spatial')" \
    || die "importing DuckDB's spatial extension from the duckdb-extension-spatial wheel failed"
  "$venv/bin/python" -c "$check" || die "the bqemulator venv cannot load DuckDB's spatial extension"
  printf '%s bqemulator=%s\n' "$want" "$("$venv/bin/bqemulator" --version 2>/dev/null | tr -d '\n')" >"$stamp"
  log "bigquery emulator: installed ($("$venv/bin/bqemulator" --version 2>/dev/null | tr -d '\n'))"
}

SECTIONS=(python_peers database_peers go_emulators bigquery_emulator)

main() {
  local start=$EPOCHREALTIME failed=() section
  # Each section in its own bash: one that cannot install (no python3, no go) does not keep the
  # others from trying, and `set -e` holds inside it (bash ignores -e in a function or subshell whose
  # status is tested, as `if ! (main)` below does).
  for section in "${SECTIONS[@]}"; do
    bash "${BASH_SOURCE[0]}" --section "$section" || failed+=("$section")
  done
  log "done in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
  ((${#failed[@]} == 0)) || die "could not install: ${failed[*]} (see the errors above)"
}

case "${1:-}" in
  "") main ;;
  --optional)
    # A subshell, so that die's `exit 1` ends only the installation, not this decision.
    if ! (main); then
      [[ "${CI:-}" == "true" ]] && die "test peers could not be installed and CI=true: failing (see the error above)"
      log "WARNING: test peers could not be installed (see above); tests that need them will be skipped. With CI=true this fails."
    fi
    ;;
  --section)
    [[ " ${SECTIONS[*]} " == *" ${2:-} "* ]] || die "unknown section '${2:-}' (one of: ${SECTIONS[*]})"
    "$2"
    ;;
  *) die "unknown argument '$1' (usage: bash scripts/setup-peers.sh [--optional])" ;;
esac
