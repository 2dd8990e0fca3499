"""How big the demo is: ``DEMO_SCALE`` = tiny (tests, seconds), default (2 CPU cores, under 10 minutes),
large (a GPU box). Pure data, so the bench and the tests read the same numbers the demo runs with.

Why the default looks the way it does (measured; see bench/synthetic_findings.py and the README):
* the reader study needs 6 forms x 20 PIEs, and PIEs are the lowest 5% of the test set, so the test
  split is large (63% of 4,000 images gives 2,520 test images, 126 PIEs) and the train split small;
* models read 64 px images, four times cheaper than 128 px, so 3 seeds fit the 10-minute budget of
  2 CPU cores; readers see the same films rendered at 512 px (the generator draws film grain on a fixed
  grid, so a model reading 64 px sees the same noise from a 256 or a 512 px render). What that costs and
  what the other levers did is measured in the README ("What the demo shows") and
  bench/synthetic_findings.py;
* the 'small' net is a pocket ResNet (a parameter-free path around every conv): a plain conv stack gave
  every image the same output at 90% sparsity, the sparsity that defines PIEs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class DemoScale:
    name: str
    # dataset
    n_images: int
    render_size: int
    fractions: tuple[float, float, float]
    # experiment
    arch: str
    image_size: int
    seeds: list[int]
    epochs: int
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 15
    # more compression methods swept on the same seeds, for the cross-method comparison page (issue 19)
    compare: tuple[str, ...] = ("int8_static",)
    # reader study
    n_forms: int = 6
    cases_per_form: int = 40
    pie_fraction: float = 0.5
    anchors: tuple[int, int] = (1, 1)  # PIE anchors, non-PIE anchors (in every form)
    repeat_cases: int = 4
    simulated_readers: int = 2
    extra: dict = field(default_factory=dict)

    @property
    def dataset_name(self) -> str:
        return f"synthetic-demo-{self.name}"

    def experiment_fields(self) -> dict:
        return {
            "name": f"Demo ({self.name}): {self.arch} CNN, {len(self.seeds)} seeds",
            "arch": self.arch,
            "init": "random",
            "seeds": list(self.seeds),
            "epochs": self.epochs,
            "image_size": self.image_size,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "patience": self.patience,
            "compare_methods": [{"method": m} for m in self.compare],
        }

    def as_dict(self) -> dict:
        return asdict(self)


SCALES = {
    "tiny": DemoScale(
        "tiny", n_images=200, render_size=32, fractions=(0.5, 0.1, 0.4), arch="tiny", image_size=32,
        seeds=[0, 1], epochs=1, batch_size=32, n_forms=2, cases_per_form=4, anchors=(0, 0), repeat_cases=1,
    ),
    "default": DemoScale(
        "default", n_images=4000, render_size=512, fractions=(0.3, 0.07, 0.63), arch="small", image_size=64,
        seeds=[0, 1, 2, 3], epochs=10,
    ),
    "large": DemoScale(
        "large", n_images=20000, render_size=256, fractions=(0.5, 0.1, 0.4), arch="resnet18", image_size=128,
        seeds=list(range(10)), epochs=30, batch_size=128, lr=1e-4,
    ),
}  # fmt: skip


def demo_scale(name: str) -> DemoScale:
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown demo scale {name!r}; choose one of {', '.join(SCALES)}") from None
