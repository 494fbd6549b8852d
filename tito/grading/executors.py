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
  worker that has none (or runs another tito) refuses: said once, and what it refused, and what
  follows, is sent to the other workers only (so it cannot steal it back while they are busy);
  if none of them is left, the batch stops. Only when none can grade does a refused submission get a
  0 that says why, marked incomplete so that the next batch grades it again, and the batch stops
  sending. A lost scheduler stops the batch at once (TitoError). A worker reads its own machine's count of
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
import signal
import threading
import time
from collections import deque
from contextlib import contextmanager, suppress
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
STUCK_SECONDS = 1.0  # dask: how often, once a worker refused, the workers left to grade are looked at


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
        detected = "none: --unsafe-no-sandbox" if unsafe else choice
        self.protects = (f"each dask worker detects its own sandbox ({detected}) and refuses to grade without one",)
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
        from tito.grading.archive import pack
        from tito.grading.dask_worker import PreparedOnWorker
        from tito.grading.state import tito_source

        archive = pack(grader.prepared.folder)
        plugin = PreparedOnWorker(archive, self.sandbox.choice, self.sandbox.unsafe, grader.limits, tito_source())
        client, cluster = self._connect()
        name = f"tito-grade-{archive.sha256[:16]}"
        address = self.scheduler or cluster.scheduler_address
        sent = _Sent(client, name, grader, todo, on_done)
        try:
            client.register_plugin(plugin, name=name)
            sent.send(1 if self.single else IN_FLIGHT_PER_WORKER * (sum(client.nthreads().values()) or self.jobs))
            while not sent.running.is_empty():
                future = next_done(sent.running, client, sent.none_can_grade)
                if future is NO_WORKER:  # every worker it may go to refused, or left
                    raise no_worker_can_grade(address, sent.left(), len(todo))
                if future is None or future.cancelled():  # the scheduler has forgotten what it was given
                    raise scheduler_lost(address, sent.left(), len(todo))
                job = sent.futures.pop(future)
                if sent.sent_elsewhere(future, job):
                    continue
                on_done(self._result(grader, future, *job[:2]))
                sent.send(1)
            if sent.queue:
                raise no_worker_can_grade(address, len(sent.queue), len(todo))
        finally:
            let_go(client, name, sent.futures)
            if cluster is not None:
                cluster.close()

    def _connect(self):
        """(a Client, the LocalCluster it runs on or None): ``--scheduler``'s cluster, else one of
        ``jobs`` single-threaded worker processes started here; TitoError when it cannot be reached."""
        from distributed import Client, LocalCluster

        cluster = None
        if not self.scheduler:
            import dask

            # the workers only wait on sandboxes: their statistical profiler (every 10 ms) would cost
            # about a third of an idle cluster's CPU; the HTTP server goes on a free port of this
            # machine only (None would still try 8787 first, on every interface)
            with dask.config.set({"distributed.worker.profile.enabled": False}), _ctrl_c_left_to_tito():
                cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                       dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        try:
            return Client(cluster or self.scheduler, timeout="30s"), cluster
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            raise TitoError(f"Cannot reach the dask scheduler at {self.scheduler or 'the LocalCluster'}: {exc}",
                            hint="Is the scheduler running (dask scheduler), and is its address tcp://HOST:PORT?",
                            ) from None

    @staticmethod
    def _result(grader, future, student, path) -> Grade:
        from tito.grading.dask_worker import Refused

        try:
            return Grade.from_json(future.result())
        except Refused as exc:  # by every worker: the next batch grades it again
            reason = f"{exc}; it scores 0"
        except Exception as exc:  # noqa: BLE001 - the worker died, or could not run tito
            reason = grading_failed(exc, " on the cluster")
        return zero_grade(grader.prepared, str(path), student, reason, "?", incomplete=True)


@contextmanager
def _ctrl_c_left_to_tito():
    """SIGINT ignored while a LocalCluster starts its worker processes, which keep that setting.
    A Ctrl-C at the terminal goes to every process of its group: tito ends the batch and closes
    the cluster, where each worker would print its own traceback (a Ctrl-C in these few seconds
    is lost). Only the main thread can change how a signal is handled."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Sent:
    """What one dask batch sent to the cluster and has still to send: ``futures`` (future -> its
    (student, path, label, data)), ``queue`` ((student, path) not sent yet) and ``running`` (a
    ``distributed.as_completed`` of the futures not done)."""

    def __init__(self, client, name: str, grader, todo: list[tuple[str, Path]], on_done):
        from distributed import as_completed as completed

        self.client, self.name, self.grader, self.on_done = client, name, grader, on_done
        self.refusals = Refusals()
        self.futures, self.queue, self.running = {}, deque(todo), completed()

    def submit(self, job: tuple, workers: list[str] | None) -> None:
        """Send one (student, path, label, data) to ``workers`` only (None: any worker): a worker
        that refused must not steal it back while they are busy (it took 34 refusals to grade 12)."""
        from tito.grading.dask_worker import grade_on_worker

        student, path, label, data = job
        future = self.client.submit(grade_on_worker, self.name, data, path.name, student, label, pure=False,
                                    key=f"grade-{os.urandom(8).hex()}", workers=workers, allow_other_workers=False)
        self.futures[future] = job
        self.running.add(future)

    def send(self, count: int) -> None:
        """Submit up to ``count`` more (a file that cannot be read is graded here, as a 0); none
        once no worker can grade."""
        while count > 0 and self.queue and self.client.status == "running":
            workers = self.refusals.others(self.client)
            if Refusals.none_left(workers):
                return
            student, path = self.queue.popleft()
            label, data = self.grader.read(path, student)
            if isinstance(data, Grade):
                self.on_done(data)
                continue
            self.submit((student, path, label, data), workers)
            count -= 1

    def sent_elsewhere(self, future, job: tuple) -> bool:
        """True when ``future`` ended in its worker's refusal and ``job`` went to the other workers
        (the worker's doing, not the submission's); False when it has its grade, or no worker is left."""
        refused = refusal(future)
        if refused is not None:
            others = self.refusals.add(refused, self.client)
            if not Refusals.none_left(others):
                self.submit(job, others)
                return True
        return False

    def none_can_grade(self) -> bool:
        """Whether every worker refused (or left): what is sent would never end."""
        return Refusals.none_left(self.refusals.others(self.client))

    def left(self) -> int:
        """How many submissions have no grade yet: sent, or still to send."""
        return len(self.futures) + len(self.queue)


class Refusals:
    """The workers of one dask batch that refused to grade (``dask_worker.Refused``, for the whole
    batch: no sandbox, another tito, the grading not unpacked). Each is said once (``note``), and
    what it was sent goes to the other workers."""

    def __init__(self):
        self.workers = set()  # their addresses

    def others(self, client) -> list[str] | None:
        """The workers that may still grade: None (any) while none refused; [] once none can."""
        if not self.workers:
            return None
        return sorted(set(client.nthreads()) - self.workers)

    @staticmethod
    def none_left(workers: list[str] | None) -> bool:
        """Whether ``others``' answer leaves no worker that may grade (None: any may)."""
        return workers == []

    def add(self, refused, client) -> list[str]:
        """Remember the worker of ``refused`` (said the first time); the workers left to grade."""
        first = refused.address not in self.workers
        self.workers.add(refused.address)
        others = self.others(client)
        if first:
            note(f"{refused}; " + ("no other worker can grade." if self.none_left(others) else
                                   "the other workers grade what it was sent."))
        return others


def refusal(future):
    """The ``Refused`` a dask future ended with, else None."""
    from tito.grading.dask_worker import Refused

    if future.status != "error":
        return None
    exc = future.exception()
    return exc if isinstance(exc, Refused) else None


def note(text: str) -> None:
    """Say ``text`` to the TA, above the progress bar."""
    from tito.console import say

    say(f"Note: {text}")


def no_worker_can_grade(address: str, left: int, total: int) -> TitoError:
    return TitoError(f"No worker of the dask cluster at {address} can grade (each refused, as said above): {left} "
                     f"of {total} submissions were not sent.",
                     hint="Fix the workers as the notes above say, then run the same command: it grades only what "
                          "is left, the refused ones included.")


NO_WORKER = object()  # what next_done gives when no worker may grade what is left


def next_done(running, client, stuck):
    """The next future of the ``distributed.as_completed`` ``running`` to end; None once ``client``
    has lost its scheduler, NO_WORKER once ``stuck()`` (asked every STUCK_SECONDS): the futures
    sent then would never end."""
    asked = time.monotonic()
    while not running.has_ready():
        if client.status != "running":
            return None
        if time.monotonic() - asked >= STUCK_SECONDS:
            if stuck():
                return NO_WORKER
            asked = time.monotonic()
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
