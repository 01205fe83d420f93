# shellcheck shell=bash
# Shared by .ci/setup-and-run and .ci/run: install Debian packages, configure and build.
set -euo pipefail
BERTH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH_BUILD=${BERTH_BUILD:-$BERTH_SRC/build}

berth_install_packages() {
    local pkgs missing=()
    read -r -a pkgs <<<"$(tr '\n' ' ' <"$BERTH_SRC/.ci/packages.txt")"
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Release by default: debug info costs ~30% of the compile and link time of a clean build on CI's
# two cores. Developers who profile or debug: BERTH_BUILD_TYPE=RelWithDebInfo.
berth_build() {
    echo "== building in $BERTH_BUILD"
    cmake -S "$BERTH_SRC" -B "$BERTH_BUILD" -G Ninja -DCMAKE_BUILD_TYPE="${BERTH_BUILD_TYPE:-Release}" \
        "$@" >/dev/null
    ninja -C "$BERTH_BUILD" -j"$(nproc)"
}
