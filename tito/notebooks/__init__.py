"""A module's notebook, ``name_dev.ipynb``, beside its source ``name_dev.py``.

Students may edit either file; tito tests, exports, grades and publishes the ``.py``. Each job has
its own file:

* ``convert.py`` — a percent-format source as a notebook (``to_notebook``, with the nbgrader marks
  of ``nbgrader.py``), a notebook back to a source (``from_notebook``), a notebook's ``.ipynb`` text
  (``notebook_json``);
* ``nbgrader.py`` — those marks: solution and test cells, a test cell's points from module.yaml;
* ``sync.py`` — which of the two files the student edited last, and bringing the other in step
  (``tito test``, ``tito export``, ``tito lab``, ``tito notebooks``; grading applies its rule to a
  submitted pair);
* ``places.py`` — a line of the ``.py`` told as a cell of the notebook (``cell [7], line 12``);
* ``syntax.py`` — Jupyter-only syntax in a cell (magics, shell commands): what ``tito test`` runs,
  skips, or says of it.

Used by the student loop (``tito test``, ``tito lab``), editions (``tito release``), grading
(``.ipynb`` submissions) and the book (notebook downloads).
"""
