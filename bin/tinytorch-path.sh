# Sourced, with TINYTORCH_ROOT set, by bin/activate-tinytorch.sh and an edition's binder/start:
# the course root and every module folder go first on PYTHONPATH (`import tinytorch` is this
# course's, `from cnn_dev import Conv2D` works), and TITO_ROOT names the course.
_tt_path="$TINYTORCH_ROOT"
for _tt_dir in "$TINYTORCH_ROOT"/modules/source/[0-9][0-9]_*/; do
    [ -d "$_tt_dir" ] && _tt_path="$_tt_path:${_tt_dir%/}"
done
export PYTHONPATH="$_tt_path${PYTHONPATH:+:$PYTHONPATH}"
export TITO_ROOT="$TINYTORCH_ROOT"
unset _tt_path _tt_dir
