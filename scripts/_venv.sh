# Sourced by the scripts in this folder: make .venv and install qops into it.
# $1: extras (e.g. "[dev]"); $2: "editable" for a development install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --upgrade pip
if [ "${2:-}" = editable ]; then
    "${pip[@]}" -e ".${1:-}"
else
    "${pip[@]}" ".${1:-}"
fi
