"""A pytest plugin of ``tito test``'s pytest step: it writes the node id of each test as it starts
to the file ``$TITO_PYTEST_RUNNING``, so that a run stopped at its deadline can say which test
it was in (a student's endless loop)."""

import os


def pytest_runtest_logstart(nodeid, location):
    path = os.environ.get("TITO_PYTEST_RUNNING")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(nodeid)
