"""hg.train: the loop, evaluation, checkpoints that resume bit-identically, reproducibility,
progress output, plots, and agreement with PyTorch on LeNet."""

import json
import os
import sys

import numpy as np
import pytest

import handgrad as hg
from handgrad import nn, optim, train
from handgrad.data import DataLoader, TensorDataset
from handgrad.models import LeNet, mlp


@pytest.fixture(scope="module")
def digits():
    """600 of scikit-learn's 8x8 digits (standardised) for training, 200 for validation."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = ((d.images / 16.0 - 0.3) / 0.4).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    return (x[:600], y[:600]), (x[600:800], y[600:800])


def _loaders(digits, seed=1, own_generator=True, batch_size=32):
    (xt, yt), (xv, yv) = digits
    gen = hg.Generator(seed) if own_generator else None
    return (
        DataLoader(TensorDataset(xt, yt), batch_size=batch_size, shuffle=True, generator=gen),
        DataLoader(TensorDataset(xv, yv), batch_size=100),
    )


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_fit_returns_history_and_learns(digits):
    hg.manual_seed(0)
    model = mlp(64, (32,), 10)
    tl, vl = _loaders(digits)
    history = train.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        tl,
        vl,
        epochs=3,
        progress=False,
        metrics=("loss", "accuracy", "top3"),
    )
    assert len(history) == 3 and history["epoch"] == [1, 2, 3]
    assert history["samples"] == [600] * 3
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history.last["val_accuracy"] > 0.8
    assert history.last["val_top3"] >= history.last["val_accuracy"]
    for key in ("time", "samples_per_s", "lr", "train_accuracy", "val_loss"):
        assert key in history.last
    # evaluate: eval mode inside, the previous mode restored, numbers equal to hg.metrics'.
    model.train()
    ev = train.evaluate(model, vl, nn.CrossEntropyLoss(), metrics=("loss", "accuracy", "top3"))
    assert model.training
    pred = train.predict(model, vl)
    assert ev["accuracy"] == pytest.approx(hg.metrics.accuracy(pred["output"], pred["target"]))
    assert ev["top3"] == pytest.approx(hg.metrics.topk_accuracy(pred["output"], pred["target"], 3))
    assert ev["accuracy"] == pytest.approx(history.last["val_accuracy"])
    assert ev["samples"] == 200


def test_evaluate_uses_eval_mode_and_no_graph(digits):
    model = mlp(64, (32,), 10, dropout=0.5)
    _, vl = _loaders(digits)
    a = train.evaluate(model, vl, nn.CrossEntropyLoss())
    b = train.evaluate(model, vl, nn.CrossEntropyLoss())
    assert a["loss"] == b["loss"]  # dropout is off in eval mode, so evaluation is deterministic
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(out.requires_grad))
    train.evaluate(model, vl)
    assert seen and not any(seen)


def _run(digits, epochs, ckpt=None, resume=False, init_seed=0, optimizer="sgd", own_generator=True):
    hg.manual_seed(init_seed)
    np.random.seed(init_seed)
    model = mlp(64, (32,), 10, dropout=0.2)  # dropout draws from the global generator
    if optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    else:
        opt = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    tl, vl = _loaders(digits, own_generator=own_generator)
    history = train.fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        tl,
        vl,
        epochs=epochs,
        scheduler=sched,
        progress=False,
        checkpoint_dir=ckpt,
        resume=resume,
    )
    return model, history, opt


@pytest.mark.parametrize("optimizer,own_generator", [("sgd", True), ("adam", False)])
def test_resume_is_bit_identical(digits, tmp_path, optimizer, own_generator):
    full, h_full, _ = _run(digits, 4, optimizer=optimizer, own_generator=own_generator)
    _run(digits, 2, tmp_path, optimizer=optimizer, own_generator=own_generator)
    # A fresh process would start from other weights and generator states: the seed 123 makes
    # sure that everything that matters comes from the checkpoint.
    resumed, h_res, _ = _run(
        digits,
        4,
        tmp_path,
        resume=True,
        init_seed=123,
        optimizer=optimizer,
        own_generator=own_generator,
    )
    for key, value in _weights(full).items():
        np.testing.assert_array_equal(_weights(resumed)[key], value, err_msg=key)
    assert h_res["train_loss"] == h_full["train_loss"]
    assert h_res["val_accuracy"] == h_full["val_accuracy"]
    assert h_res["lr"] == h_full["lr"]
    state = train.read_checkpoint(tmp_path / train.CHECKPOINT_NAME)
    assert state["epoch"] == 4


def test_resume_without_rng_restore_diverges(digits, tmp_path):
    full, _, _ = _run(digits, 3)
    _run(digits, 1, tmp_path)
    hg.manual_seed(5)
    model = mlp(64, (32,), 10, dropout=0.2)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    tl, vl = _loaders(digits)
    train.load_checkpoint(tmp_path / train.CHECKPOINT_NAME, model, opt, sched, restore_rng=False)
    train.fit(model, nn.CrossEntropyLoss(), opt, tl, vl, epochs=2, scheduler=sched, progress=False)
    assert not np.array_equal(_weights(model)["1.weight"], _weights(full)["1.weight"])


def test_same_seed_same_numbers(digits):
    a, ha, _ = _run(digits, 2, init_seed=7)
    b, hb, _ = _run(digits, 2, init_seed=7)
    _, hc, _ = _run(digits, 2, init_seed=8)
    assert ha["train_loss"] == hb["train_loss"] and ha["val_loss"] == hb["val_loss"]
    for key, value in _weights(a).items():
        np.testing.assert_array_equal(_weights(b)[key], value)
    assert ha["train_loss"] != hc["train_loss"]


def test_checkpoint_write_is_atomic(digits, tmp_path, monkeypatch):
    model = mlp(64, (8,), 10)
    path = tmp_path / "ck.npz"
    train.save_checkpoint(path, model, epoch=1)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        train.save_checkpoint(path, model, epoch=2)
    assert path.read_bytes() == before  # the old checkpoint is untouched
    assert os.listdir(tmp_path) == ["ck.npz"]  # and no temporary file is left behind
    monkeypatch.undo()
    assert train.read_checkpoint(path)["epoch"] == 1


def test_read_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train.read_checkpoint(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="corrupt"):
        train.read_checkpoint(bad)
    hg.save({"a": 1}, tmp_path / "other.npz")
    with pytest.raises(ValueError, match="not a handgrad training checkpoint"):
        train.read_checkpoint(tmp_path / "other.npz")


def test_callback_can_stop_training(digits):
    model = mlp(64, (8,), 10)
    tl, _ = _loaders(digits)
    calls = []

    def stop_after_two(history):
        calls.append(len(history))
        return len(history) == 2

    h = train.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        tl,
        epochs=5,
        callbacks=[stop_after_two],
        progress=False,
    )
    assert len(h) == 2 and calls == [1, 2]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_loss_stops_with_a_clear_error(digits):
    model = mlp(64, (8,), 10)
    tl, _ = _loaders(digits)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        train.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=1e30),
            tl,
            epochs=2,
            progress=False,
        )


def test_quiet_prints_nothing_and_progress_prints_epochs(digits, capsys):
    model = mlp(64, (8,), 10)
    tl, vl = _loaders(digits)
    opt = optim.SGD(model.parameters(), lr=0.1)
    train.fit(model, nn.CrossEntropyLoss(), opt, tl, vl, epochs=1, progress=False)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    train.fit(model, nn.CrossEntropyLoss(), opt, tl, vl, epochs=1, progress=True)
    out = capsys.readouterr().out
    assert "epoch 1" in out and "samples/s" in out and "val: loss" in out


def test_progress_without_tqdm_falls_back_to_plain_lines(digits, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model = mlp(64, (8,), 10)
    tl, _ = _loaders(digits)
    train.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        tl,
        epochs=1,
        progress=True,
    )
    out = capsys.readouterr().out
    assert "samples/s" in out and "/600 samples" in out and "epoch 1 |" in out


def test_plots_write_png_files(digits, tmp_path):
    from handgrad import plots

    model = mlp(64, (16,), 10)
    tl, vl = _loaders(digits)
    h = train.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        tl,
        vl,
        epochs=2,
        progress=False,
    )
    p = train.predict(model, vl, keep_inputs=True)
    pred = p["output"].argmax(1)
    files = [
        plots.plot_history(h, tmp_path / "curves.png"),
        plots.plot_misclassified(p["input"], pred, p["target"], tmp_path / "wrong.png"),
        plots.plot_confusion_matrix(
            hg.metrics.confusion_matrix(pred, p["target"], 10), tmp_path / "cm.png"
        ),
    ]
    for f in files:
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["cm.png", "curves.png", "wrong.png"]


def test_history_is_json_serialisable(digits):
    model = mlp(64, (8,), 10)
    tl, vl = _loaders(digits)
    h = train.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        tl,
        vl,
        epochs=1,
        progress=False,
    )
    assert json.loads(json.dumps(h.to_dict()))["epochs"][0]["epoch"] == 1


# ---- agreement with PyTorch ------------------------------------------------------------------


def _torch_lenet(torch):
    tnn = torch.nn

    class TorchLeNet(tnn.Module):  # the same layers under the same names as handgrad's LeNet
        def __init__(self):
            super().__init__()
            self.conv1, self.relu1, self.pool1 = tnn.Conv2d(1, 8, 5), tnn.ReLU(), tnn.MaxPool2d(2)
            self.conv2, self.relu2, self.pool2 = tnn.Conv2d(8, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2)
            self.flatten, self.fc = tnn.Flatten(), tnn.Linear(256, 10)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.conv2(x)))
            return self.fc(self.flatten(x))

    return TorchLeNet()


def test_lenet_one_epoch_matches_pytorch():
    """Same initial weights (copied from PyTorch), same batches, same SGD with momentum: the
    per-batch losses and the final weights agree to float32 tolerance after one epoch of 256
    real digits in batches of 32."""
    torch = pytest.importorskip("torch")
    from handgrad.data import datasets

    data = datasets.mnist5k("train")
    x_all, y_all = (t.numpy() for t in data.tensors)
    idx = np.random.default_rng(0).permutation(len(y_all))[:256]
    x, y = (x_all[idx] - 0.13) / 0.31, y_all[idx]

    torch.manual_seed(0)
    ref = _torch_lenet(torch)
    model = LeNet()
    hg.load_torch_state_dict(model, ref.state_dict())
    t_opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    h_opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    t_losses, h_losses = [], []
    order = np.random.default_rng(1).permutation(len(y))
    for i in range(0, len(y), 32):
        b = order[i : i + 32]
        t_opt.zero_grad()
        t_loss = torch.nn.functional.cross_entropy(
            ref(torch.from_numpy(x[b])), torch.from_numpy(y[b])
        )
        t_loss.backward()
        t_opt.step()
        t_losses.append(t_loss.item())
    loader = DataLoader(TensorDataset(x[order], y[order]), batch_size=32)

    def recording_loss(output, target):
        loss = nn.functional.cross_entropy(output, target)
        h_losses.append(loss.item())
        return loss

    h = train.fit(model, recording_loss, h_opt, loader, epochs=1, progress=False)
    np.testing.assert_allclose(h_losses, t_losses, rtol=1e-4)
    assert h["train_loss"][0] == pytest.approx(np.mean(t_losses), rel=1e-4)
    for key, value in ref.state_dict().items():
        np.testing.assert_allclose(
            model.state_dict()[key].numpy(), value.numpy(), rtol=1e-3, atol=1e-4, err_msg=key
        )
    with torch.no_grad():
        t_eval = torch.nn.functional.cross_entropy(
            ref(torch.from_numpy(x)), torch.from_numpy(y)
        ).item()
    h_eval = train.evaluate(
        model, DataLoader(TensorDataset(x, y), batch_size=256), nn.CrossEntropyLoss()
    )["loss"]
    assert h_eval == pytest.approx(t_eval, rel=1e-4, abs=1e-5)


def test_fit_steps_reduce_on_plateau_with_the_validation_loss_and_checkpoints_it(tmp_path):
    """A plateau scheduler in fit: it receives the validation loss each epoch, and its state
    (best value, bad-epoch count) survives a checkpoint and resume."""
    import handgrad as hg
    from handgrad.data import DataLoader, TensorDataset
    from handgrad.optim.lr_scheduler import ReduceLROnPlateau
    from handgrad.train import fit

    r = np.random.default_rng(0)
    x = hg.tensor(r.standard_normal((64, 4)).astype(np.float32))
    y = hg.tensor(r.integers(0, 2, 64))

    def run(epochs, resume):
        hg.manual_seed(0)
        model = hg.nn.Linear(4, 2)
        opt = hg.optim.SGD(model.parameters(), lr=0.5)
        sched = ReduceLROnPlateau(opt, patience=0, factor=0.5)
        loader = DataLoader(TensorDataset(x, y), batch_size=16)
        fit(
            model,
            hg.nn.functional.cross_entropy,
            opt,
            loader,
            val_loader=loader,
            epochs=epochs,
            scheduler=sched,
            progress=False,
            checkpoint_dir=tmp_path,
            resume=resume,
        )
        return sched, opt

    sched, opt = run(6, False)
    assert sched.last_epoch == 6 and opt.param_groups[0]["lr"] < 0.5  # random labels plateau
    resumed, opt2 = run(6, True)  # the checkpoint is at epoch 6: nothing left to train
    assert resumed.best == sched.best and resumed.num_bad_epochs == sched.num_bad_epochs
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
