"""The worker side of ``tito grade --executor dask`` (imported only where dask.distributed is).

``PreparedOnWorker`` is a WorkerPlugin that carries the prepared folder's archive: the client
registers it once per batch and dask hands it to every worker, present or joining later.
``setup`` checks the archive's sha256, unpacks it once into a private temporary folder (0700
for the expected results; job folders beside it) and detects the worker's own sandbox;
``teardown`` (the batch ended, or the worker closes) removes the folder, and if the worker is
killed instead, the next ``tito grade`` on that machine sweeps it (its owner file names the
worker process). Removing the plugin also stops the gradings still running on that worker
(the client removes it when the batch ends or is interrupted, so Ctrl-C stops a remote
cluster's sandboxes too): their sandboxes are killed and the folder goes only after they have
ended. ``grade_on_worker`` is the task: one submission's bytes in, its grade as JSON
out, or ``Refused`` when this worker cannot grade safely (no sandbox, another tito, or the
archive did not unpack): the client sends that submission, and the rest, to the other workers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

from distributed import WorkerPlugin, get_worker

from tito.grading.grader import SAME_TITO, grade_safely, new_scratch
from tito.grading.sandbox import backend, detect
from tito.files import remove_tree
from tito.grading.slots import job_slot


STOP_WAIT_SECONDS = 10  # teardown waits at most this long for the killed gradings to end


class Refused(Exception):
    """The worker at ``address`` (named ``name``, else its address) cannot grade safely: ``why``.

    Said of the worker, not of a submission: it refuses whatever it is sent, for the whole batch."""

    def __init__(self, address: str, name: str, why: str):
        super().__init__(address, name, why)  # the arguments travel back to the client (pickled)
        self.address, self.name, self.why = address, name, why

    def __str__(self) -> str:
        named = f"{self.name} ({self.address})" if self.name and self.name != self.address else self.address
        return f"worker {named} refused to grade: {self.why}"


def grade_on_worker(plugin_name: str, data: bytes, filename: str, student: str, label: str) -> dict:
    """One submission's grade, as JSON, graded with the prepared folder of plugin ``plugin_name``."""
    return get_worker().plugins[plugin_name].grade(data, filename, student, label).to_json()


class PreparedOnWorker(WorkerPlugin):
    idempotent = False

    def __init__(self, archive, choice: str, unsafe: bool, limits, tito_source: str | None = None):
        self.archive, self.choice, self.unsafe, self.limits = archive, choice, unsafe, limits
        self.tito_source = tito_source  # the grader's tito (state.tito_source): a worker's own must match
        self.folder = self.prepared = self.sandbox = None
        self.problem, self.address, self.name = "", "?", ""

    def setup(self, worker=None):
        from tito.grading.archive import unpack
        from tito.grading.workspace import Prepared

        from tito.grading.state import tito_source

        self.address = getattr(worker, "address", "?")
        name = getattr(worker, "name", None)  # `dask worker --name`, a LocalCluster's 0, 1...; else its address
        self.name = "" if name is None else str(name)
        self.stopping = threading.Event()  # set by teardown: kills the running sandboxes
        self.lock, self.running = threading.Lock(), 0
        if self.tito_source is not None and tito_source() != self.tito_source:  # its code decides the points
            self.archive = None
            self.problem = (f"it runs another tito than the grader's (source {tito_source()[:12]} there, "
                            f"{self.tito_source[:12]} here): {SAME_TITO}")
            return
        try:
            self.folder = new_scratch("worker")
            self.prepared = Prepared.load(unpack(self.archive, self.folder / "prepared"))
        except Exception as exc:  # noqa: BLE001 - said in each grade, never a crash of the worker
            self.problem = f"it could not unpack the grading ({type(exc).__name__}: {exc})"
            return
        finally:
            self.archive = None
        self.sandbox, reasons = (backend("none"), []) if self.unsafe else detect(self.choice)
        if self.sandbox is None:
            self.problem = "it has no sandbox that can run here (" + "; ".join(reasons) + ")"
            return
        refusal = self.sandbox.refusal([self.folder])
        if not (self.unsafe or self.sandbox.own_network):
            self.problem = (f"its {self.sandbox.name} sandbox shares the network with the cluster, and dask runs "
                            "any function a connection sends it: a submission could grade itself (bubblewrap "
                            "has no network)")
        elif refusal:
            self.problem = f"its {self.sandbox.name} sandbox could read the expected results ({refusal})"

    async def teardown(self, worker=None):
        self.stopping.set()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while self.running and time.monotonic() < deadline:  # each sandbox dies within a quarter second
            await asyncio.sleep(0.05)
        if self.folder is not None:
            remove_tree(self.folder)

    def grade(self, data: bytes, filename: str, student: str, label: str):
        """One submission's Grade; ``Cancelled`` when the plugin is removed while it runs."""
        if self.problem or self.prepared is None:
            raise Refused(self.address, self.name, self.problem or "it was not set up")
        with self._counted(), job_slot() as slot:
            return grade_safely(data, filename, student, self.prepared, self.sandbox, self.limits, self.folder,
                                slot, label, self.stopping)

    @contextmanager
    def _counted(self):
        """Count this grading among those teardown waits for."""
        with self.lock:
            self.running += 1
        try:
            yield
        finally:
            with self.lock:
                self.running -= 1
