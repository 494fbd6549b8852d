# Source me (bash or zsh):  source bin/activate-tinytorch.sh
# Activates .venv and puts the course root and every modules/source/NN_name folder on
# PYTHONPATH, so `import tinytorch` is this checkout's and `from cnn_dev import Conv2D` works.

# Run as a program (bash bin/activate-tinytorch.sh), it could only activate a shell that ends with it.
_tt_executed=0
if [ -n "${BASH_VERSION:-}" ]; then
    [ "${BASH_SOURCE[0]}" = "$0" ] && _tt_executed=1
elif [ -n "${ZSH_VERSION:-}" ]; then
    case "${ZSH_EVAL_CONTEXT:-}" in *:file*) ;; *) _tt_executed=1 ;; esac
else
    case "$0" in *activate-tinytorch.sh) _tt_executed=1 ;; esac
fi
if [ "$_tt_executed" = 1 ]; then
    echo "activate-tinytorch: this script was run, not sourced, so it activated nothing." >&2
    echo "Source it in your shell instead:  source $0" >&2
    exit 1
fi
unset _tt_executed

if [ -n "${BASH_SOURCE:-}" ]; then
    _tt_script="${BASH_SOURCE[0]}"
elif [ -n "${ZSH_VERSION:-}" ]; then
    _tt_script="${(%):-%x}"
else
    _tt_script="$0"
fi
TINYTORCH_ROOT="$(cd "$(dirname "$_tt_script")/.." && pwd)"
export TINYTORCH_ROOT
unset _tt_script

_tt_ready=1
if [ -f "$TINYTORCH_ROOT/.venv/bin/activate" ]; then
    . "$TINYTORCH_ROOT/.venv/bin/activate"
else
    _tt_ready=0
fi

. "$TINYTORCH_ROOT/bin/tinytorch-path.sh"

if [ "$_tt_ready" = 1 ]; then
    unset _tt_ready
    echo "TinyTorch ready: $TINYTORCH_ROOT (try: tito status)"
else
    unset _tt_ready
    echo "activate-tinytorch: not ready: $TINYTORCH_ROOT has no .venv yet, so there is no tito command." >&2
    echo "Run 'make install' there first, then source this script again." >&2
    return 1 2>/dev/null || exit 1
fi
