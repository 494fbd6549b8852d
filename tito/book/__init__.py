"""The course website: ``tito book build`` turns the modules into a static HTML site.

Tool choice: Jupyter Book 1's stack -- Sphinx, MyST-NB, sphinx-book-theme and sphinx-design,
all from PyPI (the ``book`` extra). It builds entirely offline and without Node.js (Jupyter Book
2 / mystmd needs Node at build time), renders notebooks natively through MyST-NB, builds the
whole course in seconds (in parallel), and every part is maintained by the Sphinx and
Executable Books communities (MkDocs itself is in an uncertain maintenance state).

The pipeline, one owner per step:

- ``launch``    the course's repository and the Binder / Colab / source links of a module;
- ``pages``     the Sphinx source tree -- ``conf.py``, the index with the module table, one
                chapter per module (its README, launch cards, the *student* notebook from the
                release transform, previous / next links), the milestones, the command reference;
- ``reference`` the command reference, from Click's own help;
- ``build``     Sphinx into a staging folder, swapped into ``_site/`` only when it succeeded;
- ``serve``     a local preview with the standard library's ``http.server``.

The source tree is generated in a temporary folder, never in the repository.
"""
