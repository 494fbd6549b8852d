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

# Each problem that leaves the course unusable, said in two lines (what is wrong, what to run).
_tt_problem=""
case "$TINYTORCH_ROOT" in
    *:*) _tt_problem="the course path $TINYTORCH_ROOT contains ':', which separates folders in PATH and PYTHONPATH (Python's import path), so neither can hold it: the tito command and \`from cnn_dev import Conv2D\` would not be found.
Rename or move the folder so that its path has no ':' (Finder shows a ':' as '/'), run 'make install' there, then source this script again." ;;
esac
if [ -z "$_tt_problem" ] && [ ! -f "$TINYTORCH_ROOT/.venv/bin/activate" ]; then
    _tt_problem="$TINYTORCH_ROOT has no .venv yet, so there is no tito command.
Run 'make install' there first, then source this script again."
elif [ -z "$_tt_problem" ]; then
    . "$TINYTORCH_ROOT/.venv/bin/activate"
    # The folder a .venv was made for is the VIRTUAL_ENV its activate sets (tito doctor's
    # check_venv_folder owns this rule; these lines are its shell form): a course folder moved,
    # renamed or copied after `make install` has a .venv whose tito runs the old folder's Python.
    if [ ! "$VIRTUAL_ENV" -ef "$TINYTORCH_ROOT/.venv" ]; then
        _tt_problem="the .venv in $TINYTORCH_ROOT was made for ${VIRTUAL_ENV%/.venv}: the course folder was moved, renamed or copied after 'make install', and that .venv's tito runs the other folder's Python (or none, if it is gone).
Run 'rm -rf .venv && make install' there to make it anew, then source this script again."
        deactivate
    fi
fi

. "$TINYTORCH_ROOT/bin/tinytorch-path.sh"

if [ -z "$_tt_problem" ]; then
    unset _tt_problem
    echo "TinyTorch ready: $TINYTORCH_ROOT (try: tito status)"
else
    echo "activate-tinytorch: not ready: $_tt_problem" >&2
    unset _tt_problem
    return 1 2>/dev/null || exit 1
fi
