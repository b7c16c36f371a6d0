"""Worker processes for blocking or costly work (Apprise sends, site-file parses).

They are spawned, not forked from a server with threads and sockets, leave Ctrl-C to Muster
(which stops its pools in order) and die with Muster, so a kill -9 leaves nothing behind.
"""

import concurrent.futures
import contextlib
import ctypes
import multiprocessing
import signal


def worker_start() -> None:
    """The initializer of every worker: no SIGINT of its own, and SIGKILL when its parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    return concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=worker_start)


def kill(executor: concurrent.futures.ProcessPoolExecutor) -> None:
    """Stop a pool whose worker is stuck: a running task cannot be cancelled, only killed."""
    kill_workers = getattr(executor, "kill_workers", None)  # Python 3.14 has it
    if kill_workers is not None:
        kill_workers()
    else:
        for process in list((executor._processes or {}).values()):
            process.kill()
    executor.shutdown(wait=False, cancel_futures=True)
