import numpy as np
import pandas as pd
import pytest
import torch

from common.progress import Cancelled
from pruning.engine import train
from pruning.engine.nets import build_model
from pruning.engine.train import TrainConfig, train_run


def data(n=24, size=16, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    labels = (rng.random((n, classes)) < 0.4).astype(np.uint8)
    labels[0], labels[1] = 1, 0  # every class has positives and negatives
    return images, labels


def config(**kw):
    base = {"arch": "tiny", "init": "random", "epochs": 4, "batch_size": 8, "image_size": 16, "lr": 1e-2, "seed": 7}
    return TrainConfig(**{**base, **kw})


def run(out, cfg=None, **kw):
    (xt, yt), (xv, yv) = data(), data(n=12, seed=1)
    return train_run(cfg or config(), xt, yt, xv, yv, out, **kw)


def weights(path):
    return torch.load(path, weights_only=True)["model"]


def test_train_run_writes_history_checkpoints_and_learning_curves(tmp_path):
    summary = run(tmp_path)
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history.columns) == ["epoch", "phase", "loss", "mauc", "map"]
    assert history["epoch"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert history["phase"].tolist()[:2] == ["train", "val"]
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert {"model", "optimizer", "epoch", "best_val_loss", "config", "history"} <= set(best)
    assert best["epoch"] == summary["best_epoch"]
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "learning_curves.png").stat().st_size > 1000
    assert build_model("tiny", 3, tmp_path / "best.pt") is not None


def test_same_seed_gives_identical_weights_on_cpu(tmp_path):
    run(tmp_path / "a")
    run(tmp_path / "b")
    a, b = weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(tmp_path):
    run(tmp_path / "full")

    def cancel_after_epoch_two(done, total, message):
        if done == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        run(tmp_path / "cut", progress=cancel_after_epoch_two)
    assert torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["epoch"] == 2
    summary = run(tmp_path / "cut", resume=True)
    assert summary["epochs_run"] == 4
    full, cut = weights(tmp_path / "full" / "last.pt"), weights(tmp_path / "cut" / "last.pt")
    assert all(torch.equal(full[k], cut[k]) for k in full)
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "full" / "history.csv"), pd.read_csv(tmp_path / "cut" / "history.csv")
    )


def test_resuming_a_finished_run_does_no_training(tmp_path, monkeypatch):
    run(tmp_path)
    monkeypatch.setattr(train, "train_one_epoch", lambda *a, **k: pytest.fail("trained again"))
    assert run(tmp_path, resume=True)["epochs_run"] == 4


def test_resuming_with_a_changed_config_is_refused(tmp_path):
    run(tmp_path, config(epochs=1))
    with pytest.raises(ValueError, match=r"cannot resume from .*last.pt: config changed \(lr: 0.01 -> 0.5\)"):
        run(tmp_path, config(lr=0.5), resume=True)


def test_training_stops_once_val_loss_has_not_improved_for_more_than_patience_epochs(tmp_path, monkeypatch):
    losses = iter([0.5, 0.4, 0.45, 0.41, 0.42, 0.3])
    monkeypatch.setattr(train, "evaluate", lambda *a, **k: {"loss": next(losses), "mauc": 0.5, "map": 0.5})
    summary = run(tmp_path, config(epochs=6, patience=2))
    # Epochs 3, 4, 5 do not beat 0.4; after the third (> patience) the run stops.
    assert summary["epochs_run"] == 5 and summary["stopped_early"]
    assert summary["best_epoch"] == 2 and summary["best_val_loss"] == 0.4
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 2


def test_images_larger_than_image_size_are_resized_on_the_fly(tmp_path):
    (xt, yt), (xv, yv) = data(size=24), data(n=12, size=24, seed=1)
    summary = train_run(config(epochs=1), xt, yt, xv, yv, tmp_path)
    assert summary["epochs_run"] == 1


def test_non_binary_labels_are_rejected_naming_row_and_column(tmp_path):
    (xt, yt), (xv, yv) = data(), data(n=12, seed=1)
    yt[5, 2] = 2
    with pytest.raises(ValueError, match="train labels must be 0/1; row 5, column 2 is 2"):
        train_run(config(), xt, yt, xv, yv, tmp_path)


def test_an_unknown_architecture_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown architecture 'resnet9'"):
        run(tmp_path, config(arch="resnet9"))


def test_a_weights_file_init_given_as_a_path_starts_from_those_weights(tmp_path):
    torch.manual_seed(3)
    start = build_model("tiny", 3, "random")
    torch.save(start.state_dict(), tmp_path / "start.pt")
    run(tmp_path / "run", config(init=tmp_path / "start.pt", epochs=1, lr=0.0))
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert saved["config"]["init"] == str(tmp_path / "start.pt")
    assert torch.equal(saved["model"]["features.0.weight"], start.features[0].weight)
