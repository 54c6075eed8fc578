#!/usr/bin/env bash
# Installs the Debian packages tca needs, only those missing (idempotent). Used by `make deps`.
set -euo pipefail
PKGS=(cmake g++ make git
      libdnnl-dev libboost-program-options-dev libhdf5-dev libfmt-dev nlohmann-json3-dev doctest-dev
      ocl-icd-opencl-dev           # dnnl's CMake config runs find_package(OpenCL REQUIRED) (issue 17;
                                   # libdnnl-dev only Recommends it, and we install without recommends)
      zlib1g-dev
      hdf5-tools python3-h5py      # h5dump / h5py: the compatibility tests read our files with them
      dataset-fashion-mnist        # the image-completion data (tca.md section 6)
      clang-format                 # `make format-check` in .ci/run: the committed .clang-format is the layout rule
      gnuplot-nox                  # `tca sweep collect --plots` draws its SVG/PNG plots with gnuplot
      libcairo2-dev pkg-config)    # lib/viz: pictures of what a query attended to, PNG and SVG from one code path
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "deps: error: these Debian packages are missing and I am not root (and have no passwordless sudo):" >&2
  echo "  ${missing[*]}" >&2
  echo "  install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
