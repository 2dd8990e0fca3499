"""Talking to the Celery broker on behalf of jobs: reachability (from config.celery), how many messages
wait in each queue, and which jobs they name (so the reaper re-sends only what is really missing)."""

import ast
import contextlib
import json
import os

from config.celery import app, broker_status, masked_broker_url

__all__ = ["app", "broker_status", "masked_broker_url", "queue_lengths", "job_ids_in_broker"]
RUN_JOB = "jobs.run_job"


@contextlib.contextmanager
def _channel(timeout: float):
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        yield conn.default_channel


def queue_lengths(queues, timeout: float = 2.0) -> dict[str, int] | None:
    """Messages waiting in each queue (not those a worker holds); None when the broker is unreachable."""
    try:
        with _channel(timeout) as channel:
            return {q: int(channel._size(q)) for q in queues}
    except Exception:  # kombu raises many transport-specific errors
        return None


def _job_id(raw) -> int | None:
    """The job id of one raw kombu message (JSON text) if it is "run job N", else None."""
    try:
        headers = json.loads(raw).get("headers") or {}
        if headers.get("task") != RUN_JOB:
            return None
        return int(ast.literal_eval(headers.get("argsrepr") or "()")[0])
    except (ValueError, TypeError, IndexError, SyntaxError, AttributeError):
        return None


def _redis_messages(channel, queues) -> list:
    client = channel.client
    # kombu prefixes the keys of the commands it uses itself (global_keyprefix); LRANGE it does not.
    prefix = getattr(client, "global_keyprefix", "")
    keys = [prefix + channel._q_for_pri(q, pri) for q in queues for pri in channel.priority_steps]
    # Messages a worker took but did not acknowledge are not counted: for a job still QUEUED that worker
    # died before its claim (or claims it this instant: a duplicate message is harmless).
    return [m for key in dict.fromkeys(keys) for m in client.lrange(key, 0, -1)]


def _folder_messages(channel, queues) -> list:
    folder = channel.data_folder_in
    wanted = {f"{q}.msg" for q in queues}
    raw = []
    for name in os.listdir(folder):
        if name.partition(".")[2] in wanted:
            with contextlib.suppress(OSError), open(os.path.join(folder, name), "rb") as f:  # OSError: taken
                raw.append(f.read())
    return raw


def job_ids_in_broker(queues, timeout: float = 2.0) -> set[int] | None:
    """Ids of the jobs whose "run job N" message waits in ``queues``. None when the broker cannot be read
    or its transport is not one we know how to read."""
    try:
        with _channel(timeout) as channel:
            transport = type(channel.connection).__module__
            if transport.endswith(".redis"):
                raw = _redis_messages(channel, queues)
            elif transport.endswith(".filesystem"):
                raw = _folder_messages(channel, queues)
            else:
                return None
    except Exception:
        return None
    return {job_id for job_id in map(_job_id, raw) if job_id is not None}
