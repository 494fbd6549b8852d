"""The course root (the folder above ``tests/``): the one definition every test file imports.

``from course_root import ROOT`` works in every test folder because pytest (its default
``prepend`` import mode) puts ``tests/`` on ``sys.path`` when it loads ``tests/conftest.py``, as it
puts ``tests/tito/`` there for ``tiny_course``. It travels with ``conftest.py`` into a student
edition and a grading folder (both copy the files at the top of ``tests/``).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
