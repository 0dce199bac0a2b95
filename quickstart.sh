#!/usr/bin/env bash
# quickstart.sh: build kop on a fresh Debian 12 machine and run it.
#   ./quickstart.sh         build, then run kop's main job: examples/quickstart.kop on
#                           the demo Mamba-1 model (results/quickstart/mamba1-facts/)
#   ./quickstart.sh check   build, then run the whole test suite (make check)
# As root, missing build dependencies are installed with apt-get; otherwise
# the script names them and stops.
set -euo pipefail
cd "$(dirname "$0")"

PKGS="build-essential autoconf automake pkg-config flex bison
      libyaml-dev libpng-dev libjson-c-dev libblis-openmp-dev"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "quickstart: installing$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "quickstart: missing Debian packages:$missing" >&2
        echo "quickstart: install them with: sudo apt-get install$missing" >&2
        exit 2
    fi
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$jobs"

shared=${KOP_SHARED:-$(cd .. && pwd)/shared}
case "${1:-run}" in
check)
    make -j"$jobs" check
    ;;
run)
    ./kop --version | sed -n 1p
    model=examples/models/mamba1-facts
    if [ -d "$model" ]; then
        ./kop run examples/quickstart.kop --model "$model"
        echo "quickstart: figures in results/quickstart/mamba1-facts/flow.png and flow-lines.png"
    else
        # without the demo models (a partial checkout), show the engine on a reference checkpoint
        model="$shared/reference/mamba1-tiny"
        [ -d "$model" ] || { echo "quickstart: neither examples/models/ nor $model found" >&2; exit 2; }
        ./kop info "$model"
        echo "logits of the last position for the token ids 3,17,42,5:"
        ./kop logits "$model" --ids 3,17,42,5
    fi
    ;;
*)
    echo "usage: ./quickstart.sh [run|check]" >&2
    exit 2
    ;;
esac
