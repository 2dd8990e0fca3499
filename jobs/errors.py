"""Signals a running job's progress callback raises into the work it reports on."""


class Cancelled(Exception):  # noqa: N818 -- a signal, not an error
    """The job was cancelled (or is no longer this attempt's to run): stop, keeping finished work."""


class WaitForChildren(Exception):  # noqa: N818 -- a signal, not an error
    """Raised by a runner that handed its work to sub-jobs: the job stays RUNNING, and its kind's
    ``on_child_finished`` hook finishes it once the sub-jobs are done."""
