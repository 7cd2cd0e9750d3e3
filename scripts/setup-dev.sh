#!/usr/bin/env bash
# Install what a fresh machine lacks to develop and test resdsl:
#   Graphviz's `dot` (Debian package), resdsl itself (editable) with PyTorch and the test tools, and
#   torchvision's model code as a test oracle.
# torch is pinned to 2.13.0: on this project's machines that is the CPU build lying on disk; an open
# range would pull the newest CUDA build (several GB).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing graphviz (dot)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
  else
    echo "setup: Graphviz's dot is missing; install it (e.g. sudo apt-get install graphviz)" >&2
  fi
fi

python3 -m pip install -q -e ".[torch,dev]"
# Test-only oracles: torchvision's model code (tests/oracles.py).  --no-deps, or pip would replace the
# pinned torch with the newest CUDA build; torchvision's own __init__ imports PIL, hence pillow.
python3 -m pip install -q --no-deps "torchvision==0.29.1"
python3 -m pip install -q pillow
# timm's model code (Inception-v4, Inception-ResNet-v2; tests/test_timm_oracles.py), also --no-deps:
# it imports torchvision's; safetensors and PyYAML have no dependencies of their own.
python3 -m pip install -q --no-deps "timm==1.0.31" safetensors pyyaml
# Bytecode for resdsl, as pip writes for an installed package: where PYTHONDONTWRITEBYTECODE is set (as on
# this project's machines) every `python -m resdsl` the tests start would otherwise compile it again.
python3 -m compileall -q resdsl
python3 -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else f'unexpected torch {v}')"
echo "setup: ok ($(python3 -c 'import torch; print("torch", torch.__version__)'), $(dot -V 2>&1 | head -1))"
