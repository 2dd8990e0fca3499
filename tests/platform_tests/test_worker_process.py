import subprocess

from jobs import worker


def test_start_worker_leaves_no_open_log_handle_in_the_parent(tmp_path, monkeypatch):
    handed = {}

    class FakePopen:
        pid = 0

        def __init__(self, cmd, stdout, **kwargs):
            handed["log"] = stdout

        def poll(self):
            return None

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    started = worker.start_worker(tmp_path / "worker.log")
    assert started.log_path == tmp_path / "worker.log"
    assert handed["log"].closed
