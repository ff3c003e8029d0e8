# Sourced by scripts/contract: installs schemathesis from PyPI into a virtual environment of
# its own when missing (and Python's venv from Debian when that is missing), and sets
# SCHEMATHESIS to its `st` command.
# Pinned: a new release may add checks or change what they accept; bump it on purpose.
SCHEMATHESIS_VERSION=4.32.5
# Outside the repo, so that a clean clone (CI) installs it once and later runs reuse it.
SCHEMATHESIS_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/gleaner/schemathesis-$SCHEMATHESIS_VERSION"
SCHEMATHESIS="$SCHEMATHESIS_VENV/bin/st"
if ! "$SCHEMATHESIS" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "installing Python's venv (apt-get install -y python3-venv)…" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
  fi
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $SCHEMATHESIS_VENV…" >&2
  rm -rf "$SCHEMATHESIS_VENV"
  python3 -m venv "$SCHEMATHESIS_VENV"
  "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION"
fi
