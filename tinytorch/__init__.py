"""TinyTorch: a small deep-learning framework that students build module by module.

The modules under ``tinytorch.core`` are *generated* by ``tito export`` from the
literate sources in ``modules/source/NN_name/name_dev.py``. Import what you need
from them directly, e.g. ``from tinytorch.core.tensor import Tensor``; this
package file deliberately imports nothing, so that a module's tests load only
that module and its prerequisites.
"""

__version__ = "0.1.0"
