#!/usr/bin/env bash
# What a user installs must work: build the sdist and, from it, the wheel; check that every data
# file of the package (SQL queries, JSON schemas…) is in the wheel; install the wheel into a fresh
# venv and run the README's first command with it in a copy of the example app.
#
# The fresh venv reuses the CI venv's installed dependencies (a .pth line, like
# --system-site-packages), but dfmigrate itself comes only from the wheel, which is checked.
set -euo pipefail

cd "$(dirname "$0")/.."
# A PYTHONPATH pointing at a source checkout would shadow the wheel this script checks.
unset PYTHONPATH
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1; then
    cat "$work/build.log"
    exit 1
fi
wheel="$(ls "$work"/dist/*.whl)"
sdist="$(ls "$work"/dist/*.tar.gz)"

python - "$wheel" "$sdist" <<'PY'
import os, sys, tarfile, zipfile

wheel, sdist = sys.argv[1:]
wanted = sorted(
    os.path.relpath(os.path.join(root, name))
    for root, dirs, files in os.walk("dfmigrate")
    if "__pycache__" not in root
    for name in files
    if not name.endswith((".pyc", ".pyo"))
)
in_wheel = set(zipfile.ZipFile(wheel).namelist())
missing = [p for p in wanted if p not in in_wheel]
with tarfile.open(sdist) as tar:
    in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
missing += [f"{p} (sdist)" for p in wanted if p not in in_sdist]
if missing:
    sys.exit("package files missing from the distributions: " + ", ".join(missing))
print(f"package-check: {len(wanted)} package files in {os.path.basename(wheel)} and {os.path.basename(sdist)}")
PY

python -m venv "$work/venv"
site="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
python -c 'import site; print("\n".join(site.getsitepackages()))' >"$site/ci-dependencies.pth"
"$work/venv/bin/python" -m pip install --quiet --no-deps --no-index "$wheel"

mkdir "$work/app"
cp -r examples migrations pyproject.toml "$work/app/"
cd "$work/app"
"$work/venv/bin/python" - <<'PY'
import sys

import dfmigrate

assert dfmigrate.__file__.startswith(sys.prefix), f"dfmigrate imported from {dfmigrate.__file__}, not the wheel"
PY
# The README's first command, minus its "pip install -e . &&" (the wheel is the installation here).
first="$(sed -n '/^```sh$/{n;p;q}' "$OLDPWD/README.md")"
command="${first#pip install -e . && }"
if [ "$command" = "$first" ]; then
    echo "package-check: the README's first command no longer starts with 'pip install -e . &&': $first" >&2
    exit 1
fi
echo "package-check: running '$command' with the wheel's dfmigrate"
PATH="$work/venv/bin:$PATH" bash -c "$command"
"$work/venv/bin/python" -m dfmigrate --version
