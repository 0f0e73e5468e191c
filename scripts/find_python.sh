#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain what is missing.
# Order: $PYTHON, python3.10 on PATH, pyenv's installed 3.10.x versions.
set -u
is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
    if is_310 "$PYTHON"; then command -v "$PYTHON"; exit 0; fi
    echo "error: PYTHON=$PYTHON is not a working Python 3.10 interpreter." >&2
    exit 1
fi
for cand in python3.10 python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && is_310 "$cand"; then
        # Resolve pyenv shims to the real binary so .venv does not depend on the shim.
        "$cand" -c 'import sys; print(sys.executable)'; exit 0
    fi
done
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for dir in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do
        if is_310 "$dir/bin/python3.10"; then echo "$dir/bin/python3.10"; exit 0; fi
    done
fi
cat >&2 <<'MSG'
error: no Python 3.10 interpreter found (nnabla publishes wheels only up to Python 3.10).
Install one, then run make again, for example:
  pyenv install 3.10.13          # pyenv; this repository's .python-version selects it
  apt-get install python3.10-venv  # on distributions that package it
or name one explicitly:  make install PYTHON=/path/to/python3.10
MSG
exit 1
