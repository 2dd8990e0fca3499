"""Signals a running job's progress callback raises into the work it reports on. The job was cancelled is
``common.progress.Cancelled`` (the one the engines know); these add what only the job machinery needs."""

from common.progress import Cancelled


class WaitForChildren(Exception):  # noqa: N818 -- a signal, not an error
    """Raised by a runner that handed its work to sub-jobs: the job stays RUNNING, and its kind's
    ``on_child_finished`` hook finishes it once the sub-jobs are done."""


class Superseded(Cancelled):
    """This attempt no longer owns the job (a retry, the reaper or a redelivered message started a newer
    one): stop at once and write nothing; the newer attempt carries on from the finished work."""
