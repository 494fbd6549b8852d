# Sourced, with TINYTORCH_ROOT set, by bin/activate-tinytorch.sh and an edition's binder/start:
# the course root and every module folder go first on PYTHONPATH (`import tinytorch` is this
# course's, `from cnn_dev import Conv2D` works), and TITO_ROOT names the course.
_tt_path="$TINYTORCH_ROOT"
# Module folders only, named as tito.course.MODULE_DIR says: NN_name, name in lowercase letters,
# digits and underscores (spelled out: a range such as [a-z] takes capitals in some locales).
for _tt_dir in "$TINYTORCH_ROOT"/modules/source/[0-9][0-9]_*/; do
    case "${_tt_dir%/}" in
        */[0-9][0-9]_[!abcdefghijklmnopqrstuvwxyz]*|*/[0-9][0-9]_*[!abcdefghijklmnopqrstuvwxyz0123456789_]*) continue ;;
    esac
    [ -d "$_tt_dir" ] && _tt_path="$_tt_path:${_tt_dir%/}"
done
export PYTHONPATH="$_tt_path${PYTHONPATH:+:$PYTHONPATH}"
export TITO_ROOT="$TINYTORCH_ROOT"
unset _tt_path _tt_dir
