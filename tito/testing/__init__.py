"""``tito test``: a module's inline tests, its export and its pytest tests, and what a failure says.

Each job has its own file:

* ``runner.py`` — the pipeline (``run_module``): the three steps side by side (inline, export,
  pytest), prerequisites, Ctrl-C;
* ``inline_harness.py`` — the script a fresh process runs: the dev file's cells, each
  ``test_unit_*`` recorded (it loads ``limits.py`` and ``tito/format.py`` by path, never ``tito``);
* ``pytest_step.py`` — the pytest step: the subprocess, its junit report read into outcomes;
* ``pytest_plugin.py`` — the plugin that pytest loads (``-p``): time limits, what ran before a hang;
* ``limits.py`` — how long a test and a step may run, kept by the process that runs them
  (the grading sandbox has limits of its own: ``tito.grading.sandbox.Limits``);
* ``outcomes.py`` — what a run produces (TestOutcome, StepResult, ModuleResult), printing nothing;
* ``processes.py`` — a step's subprocess: its environment, its own session, its deadline;
* ``source_map.py`` — a generated package line traced back to its line in the module source;
* ``student_frames.py`` — a failure in given code moved to the student's own line;
* ``cell_hints.py`` — a failure traced back to the cell that causes it: a name defined only in
  a cell without ``#| export`` (or deleted), a stub written again there, inline tests deleted.

The grading sandbox runs the same steps (``tito.grading.inside``), for feedback only.
"""
