"""Course milestones: complete programs that use the student's tinytorch end to end.

Each milestone is a module here with a ``run(...)`` function, its ``EPOCHS`` and ``PASS_ACCURACY``,
and ``NEEDS``, the tinytorch modules it imports; ``tito milestone NAME`` runs it.
"""

MILESTONES = {
    "cnn": "tito.milestones.cnn_digits",
}
