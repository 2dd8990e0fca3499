"""The jobs app's own kind: a self-check that proves web -> broker -> worker -> database works."""

import platform
import time

from jobs.models import Job


def selfcheck(job: Job, progress) -> dict:
    """Prove the round trip web -> broker -> worker -> database, and report what the worker can compute on.

    ``params.hold_seconds`` keeps the worker busy that long without a progress call (like one long epoch):
    an operator can watch heartbeats, the reaper and the fencing of a retry on a real deployment."""
    progress(0, 3, "importing torch")
    import torch

    progress(1, 3, "probing device")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
        "threads": torch.get_num_threads(),
        "hostname": platform.node(),
    }
    progress(2, 3, f"timing a matmul on {device}")
    a = torch.randn(512, 512, device=device)
    start = time.perf_counter()
    for _ in range(10):
        a = (a @ a).tanh()
    if device == "cuda":
        torch.cuda.synchronize()
    info["matmul_512_x10_seconds"] = round(time.perf_counter() - start, 4)
    hold = float(job.params.get("hold_seconds", 0))
    if hold > 0:
        progress(2, 3, f"holding the worker for {hold:g} s")
        time.sleep(hold)
    info["attempt"] = job.attempts
    progress(3, 3, "done")
    return info
