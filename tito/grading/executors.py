"""Where a batch's gradings run: here, N at a time, or on a dask cluster.

An executor takes the prepared grader and the (student, file) pairs to grade, and calls
``on_done(grade)`` in the calling thread as each grade is known, in completion order. Each
grading is already its own sandboxed process tree (``tito.grading.grader.grade_submission``);
the executors only decide where it runs:

* ``LocalExecutor``: a pool of N threads on this machine, each supervising one sandbox.
* ``DaskExecutor``: dask.distributed, on a ``LocalCluster`` of N worker processes or on a
  running cluster (``--scheduler tcp://host:8786``). The prepared folder travels as one
  archive (``tito.grading.archive``), inside a worker plugin: every worker, including one
  that joins later, unpacks it once into a private temporary folder and removes it when the
  batch ends — no shared file system is assumed. Each worker detects its own sandbox; a
  worker that has none gives each submission it receives a 0 that says why, marked
  incomplete so that the next batch grades it again. A worker reads its own machine's count of
  OOM kills: a grading the kernel killed there comes back marked as such, and the batch settles
  it as any other (``tito.grading.state.settle``), grading it again one at a time on the cluster
  (``one_at_a_time``). Workers need tito installed (the course's
  package: ``pip install -e '.[cluster]'``), nothing else of the course.

Both stop cleanly on Ctrl-C: no new grading starts, the running sandboxes are killed (dask:
removing the batch's worker plugin makes each worker kill its own, on a LocalCluster or a
remote cluster alike), and ``KeyboardInterrupt`` goes on to the caller. Grades not yet known
are simply not written: the next batch grades them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from contextlib import suppress
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tito.errors import TitoError
from tito.grading.grader import Cancelled, zero_grade
from tito.grading.report import Grade, grading_failed
from tito.grading.sandbox import Sandbox
from tito.grading.slots import job_slot

EXECUTORS = ("local", "dask")
IN_FLIGHT_PER_WORKER = 2  # dask: submissions sent ahead per worker thread (their bytes wait there)
WATCH_SECONDS = 0.05  # dask: how often the client's connection is looked at while no grade comes


class Executor:
    name = ""
    sandbox: Sandbox  # the one the grader is prepared for
    alone = False  # each grading runs with no other of the batch beside it

    def describe(self) -> str:
        raise NotImplementedError

    def one_at_a_time(self) -> "Executor":
        """An executor on the same machines that grades one submission at a time (``alone``)."""
        raise NotImplementedError

    def run(self, grader, todo: list[tuple[str, Path]], on_done) -> None:
        raise NotImplementedError


def create(name: str, jobs: int, scheduler: str | None, sandbox: str = "auto", unsafe: bool = False) -> Executor:
    """The executor ``tito grade`` asked for (TitoError for a combination that cannot work)."""
    from tito.grading.sandbox import backend, choose

    if jobs < 1:
        raise TitoError(f"--jobs must be at least 1, got {jobs}.", exit_code=2)
    if name == "local":
        if scheduler:
            raise TitoError("--scheduler is for --executor dask.", exit_code=2)
        return LocalExecutor(jobs, choose(sandbox, unsafe))
    if name == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise TitoError("--executor dask needs dask.distributed, which is not installed.",
                            hint="pip install -e '.[cluster]' (make install does).") from None
        if sandbox != "auto" and not unsafe and not backend(sandbox).own_network:
            raise TitoError(f"--sandbox {sandbox} cannot grade on dask: the submission would share the network with "
                            "the cluster, and dask runs any function a connection sends it.",
                            hint="Install bubblewrap on the workers (apt-get install bubblewrap) and use "
                                 "--sandbox auto or bubblewrap.", exit_code=2)
        return DaskExecutor(jobs, scheduler, sandbox, unsafe)
    raise TitoError(f"Unknown executor {name!r}: expected one of {', '.join(EXECUTORS)}.", exit_code=2)


# --------------------------------------------------------------------------- here


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, jobs: int = 1, sandbox: Sandbox | None = None):
        self.jobs = jobs
        self.sandbox = sandbox

    @property
    def alone(self) -> bool:
        return self.jobs == 1

    def describe(self) -> str:
        return f"local, {self.jobs} at a time"

    def one_at_a_time(self) -> "LocalExecutor":
        return self if self.alone else LocalExecutor(1, self.sandbox)

    def run(self, grader, todo, on_done) -> None:
        cancel = threading.Event()

        def one(student, path):
            with job_slot() as slot:
                return grader.grade(path, student, slot, cancel)

        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="tito-grade")
        try:
            futures = {pool.submit(one, student, path): (student, path) for student, path in todo}
            for future in as_completed(futures):
                try:
                    grade = future.result()
                except Cancelled:
                    continue
                except Exception as exc:  # a slot could not be taken: ours, not the submission's
                    student, path = futures[future]
                    grade = zero_grade(grader.prepared, str(path), student, grading_failed(exc),
                                       grader.sandbox.name, incomplete=True)
                on_done(grade)
        except BaseException:
            cancel.set()  # the running sandboxes are killed within a quarter of a second
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- dask


class OnWorkers(Sandbox):
    """Stands for the sandboxes of a dask cluster: each worker detects and uses its own."""

    name = "each worker's own"

    def __init__(self, choice: str = "auto", unsafe: bool = False):
        self.choice, self.unsafe = choice, unsafe
        self.protects = (f"each dask worker detects its own sandbox ({'none: --unsafe-no-sandbox' if unsafe else choice})"
                         " and refuses to grade without one",)
        self.lacks = ("what the worker's sandbox lacks: see each report's sandbox",)

    def guarantees(self):
        return list(self.protects), list(self.lacks)  # each worker's machine says for itself

    def run(self, job, inner, env, limits, cancel=None):
        raise TitoError("A dask batch runs its sandboxes on the workers, not here.")


class DaskExecutor(Executor):
    name = "dask"

    def __init__(self, jobs: int = 1, scheduler: str | None = None, sandbox: str = "auto", unsafe: bool = False,
                 single: bool = False):
        self.jobs, self.scheduler = jobs, scheduler
        self.sandbox = OnWorkers(sandbox, unsafe)
        self.single = single  # one submission on the cluster at a time

    @property
    def alone(self) -> bool:
        return self.single or (not self.scheduler and self.jobs == 1)  # a LocalCluster of one worker thread

    def describe(self) -> str:
        where = (f"the cluster at {self.scheduler}" if self.scheduler else
                 f"a LocalCluster of {self.jobs} worker{'s' if self.jobs > 1 else ''}")
        return f"dask, on {where}" + (", one at a time" if self.single else "")

    def one_at_a_time(self) -> "DaskExecutor":
        if self.alone:
            return self
        return DaskExecutor(1, self.scheduler, self.sandbox.choice, self.sandbox.unsafe, single=True)

    def run(self, grader, todo, on_done) -> None:
        from distributed import Client, LocalCluster
        from distributed import as_completed as completed

        from tito.grading.archive import pack
        from tito.grading.dask_worker import PreparedOnWorker
        from tito.grading.state import tito_source

        archive = pack(grader.prepared.folder)
        plugin = PreparedOnWorker(archive, self.sandbox.choice, self.sandbox.unsafe, grader.limits, tito_source())
        cluster = None
        if not self.scheduler:
            import dask

            # the workers only wait on sandboxes: their statistical profiler (every 10 ms) would cost
            # about a third of an idle cluster's CPU; the HTTP server goes on a free port of this
            # machine only (None would still try 8787 first, on every interface)
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                       dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        try:
            client = Client(cluster or self.scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            raise TitoError(f"Cannot reach the dask scheduler at {self.scheduler or 'the LocalCluster'}: {exc}",
                            hint="Is the scheduler running (dask scheduler), and is its address tcp://HOST:PORT?") from None
        name = f"tito-grade-{archive.sha256[:16]}"
        address = self.scheduler or cluster.scheduler_address
        futures, queue, running = {}, deque(todo), completed()

        def send(count: int) -> None:
            """Submit up to ``count`` more (a file that cannot be read is graded here, as a 0)."""
            while count > 0 and queue and client.status == "running":
                student, path = queue.popleft()
                future = self._submit(client, name, grader, student, path, on_done)
                if future is not None:
                    futures[future] = (student, path)
                    running.add(future)
                    count -= 1

        try:
            client.register_plugin(plugin, name=name)
            send(1 if self.single else IN_FLIGHT_PER_WORKER * (sum(client.nthreads().values()) or self.jobs))
            while not running.is_empty():
                future = next_done(running, client)
                if future is None or future.cancelled():  # the scheduler has forgotten what it was given
                    raise scheduler_lost(address, len(futures) + len(queue), len(todo))
                student, path = futures.pop(future)
                on_done(self._result(grader, future, student, path))
                send(1)
        finally:
            let_go(client, name, futures)
            if cluster is not None:
                cluster.close()

    @staticmethod
    def _submit(client, name, grader, student, path, on_done):
        from tito.grading.dask_worker import grade_on_worker

        label, data = grader.read(path, student)
        if isinstance(data, Grade):
            on_done(data)
            return None
        return client.submit(grade_on_worker, name, data, path.name, student, label, pure=False,
                             key=f"grade-{os.urandom(8).hex()}")

    @staticmethod
    def _result(grader, future, student, path) -> Grade:
        from tito.grading.dask_worker import Refused

        try:
            return Grade.from_json(future.result())
        except Refused as exc:
            reason = f"{exc}; it scores 0"
        except Exception as exc:  # noqa: BLE001 - the worker died, or could not run tito
            reason = grading_failed(exc, " on the cluster")
        return zero_grade(grader.prepared, str(path), student, reason, "?", incomplete=True)


def next_done(running, client):
    """The next future of the ``distributed.as_completed`` ``running`` to end, or None once ``client``
    has lost its scheduler: the futures it sends then would never end."""
    while not running.has_ready():
        if client.status != "running":
            return None
        time.sleep(WATCH_SECONDS)
    return next(running)


def scheduler_lost(address: str, left: int, total: int) -> TitoError:
    return TitoError(f"Lost the connection to the dask scheduler at {address}: {left} of {total} submissions were "
                     "not graded.", hint="Start the scheduler and workers again, then run the same command: it "
                                         "grades only those.")


def let_go(client, name: str, futures) -> None:
    """End a batch on the cluster: its futures cancelled and its plugin removed (which stops each
    worker's sandboxes), then the client closed. Never raises: after a lost scheduler there is
    nothing left to stop (its workers exit with it, and so do their sandboxes)."""
    if client.status == "running":
        with suppress(Exception):
            client.cancel(list(futures))
        with suppress(Exception):  # the workers may be gone already
            client.unregister_worker_plugin(name)  # each worker removes its copy
    log = logging.getLogger("distributed.client")
    level = log.level
    log.setLevel(logging.CRITICAL)  # closing ends its attempts to reconnect, logged as "after 30.00 seconds"
    try:
        with suppress(Exception):
            client.close()
    finally:
        log.setLevel(level)
