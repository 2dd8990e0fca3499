"""bench/gpu.py (the GPU path's measurement) runs end to end on the CPU at a tiny size, so it cannot rot
while no GPU is lent: training, the 20-sparsity sweep (here 3) and the prune timing with its zero-count check."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--device", "cpu", "--arch", "small", "--image-size", "32", "--train-images", "40"]
TINY += ["--test-images", "24", "--batch-size", "16", "--sparsities", "3", "--methods", "int8_static,imp"]
TINY += ["--cost-repeats", "1"]


def test_gpu_bench_runs_on_the_cpu_at_a_tiny_size_and_prints_every_figure():
    done = subprocess.run(
        [sys.executable, "bench/gpu.py", *TINY], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("device: CPU (no GPU")
    assert any(line.startswith("training (small @ 32 px, batch 16): bf16") for line in lines)
    assert any("inference sweep (3 sparsities x 24 images)" in line for line in lines)
    assert any("prune 3 ratios" in line and "identical zero counts" in line for line in lines)
    assert any(line.startswith("method int8_static: 2 levels x 24 images") for line in lines)
    assert any(line.startswith("method imp: 6 levels x 24 images") for line in lines)
    assert lines[-1].startswith("ratio baseline/ours: training"), "the ratio is printed last"
