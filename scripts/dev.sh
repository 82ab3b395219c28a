#!/usr/bin/env bash
# One entry point for a fresh machine: installs what is missing (idempotent), then runs an action.
#   bash scripts/dev.sh demo   # set up, start the server in-process, replay the sample sales call
#   bash scripts/dev.sh test   # set up, run the whole test suite
#   bash scripts/dev.sh setup  # set up only
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:-demo}"
shift || true

apt_packages=(espeak-ng sox libsox-fmt-all chromium)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import copilot, torch, faster_whisper, playwright" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.installed ]; then
  echo "==> installing Python packages (first time: a few minutes)"
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  # the CPU build of torch; an unpinned torch would pull a multi-GB CUDA build
  .venv/bin/pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import copilot, torch, faster_whisper, playwright" \
    || { echo "Python packages failed to install" >&2; exit 1; }
  touch .venv/.installed
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
case "$action" in
  setup) echo "==> ready: .venv/bin/copilot --help" ;;
  demo) exec .venv/bin/copilot demo "$@" ;;
  test) exec .venv/bin/python -m pytest -q "$@" ;;
  *) echo "usage: bash scripts/dev.sh [demo|test|setup] [args...]" >&2; exit 2 ;;
esac
