"""The ``handgrad`` command line: a run writes what it says, and every bad input is one line on
stderr, exit status 2, no traceback, and no earlier file lost."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from handgrad import cli

FAST = ["--data", "digits", "--epochs", "1", "--quiet", "--no-plots"]


def _snapshot(folder: Path) -> dict:
    return (
        {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
        if folder.exists()
        else {}
    )


def _error(capsys, argv, *fragments):
    """Run ``handgrad argv``; assert exit 2 and a single stderr line holding the fragments."""
    code = cli.main(argv)
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert code == 2, (code, out.err)
    assert len(lines) == 1 and "Traceback" not in out.err, out.err
    assert lines[0].startswith("handgrad"), lines[0]
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """An mlp trained for one epoch on the 8x8 digits, with plots."""
    out = tmp_path_factory.mktemp("run")
    code = cli.main(
        [
            "train",
            "--model",
            "mlp",
            "--data",
            "digits",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            str(out),
            "--seed",
            "3",
        ]
    )
    assert code == 0
    return out


def test_train_writes_checkpoint_metrics_and_plots(finished_run, capsys):
    names = sorted(p.name for p in finished_run.iterdir())
    assert names == [
        "checkpoint.npz",
        "confusion_matrix.png",
        "curves.png",
        "metrics.json",
        "misclassified.png",
    ]
    report = json.loads((finished_run / "metrics.json").read_text())
    assert 0.5 < report["test_accuracy"] <= 1
    assert report["test_top5_accuracy"] >= report["test_accuracy"]
    assert report["epochs"] == 1 and report["samples_per_s"] > 0
    assert np.array(report["confusion_matrix"]).sum() == report["test_examples"]
    assert report["config"]["model"] == "mlp"


def test_report_names_the_files(tmp_path, capsys):
    assert cli.main(["train", "--model", "softmax", *FAST, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "samples/s" in out
    assert str(tmp_path / "checkpoint.npz") in out and str(tmp_path / "metrics.json") in out
    assert "epoch 1 |" not in out  # --quiet: no per-epoch lines


def test_resume_continues_the_run(tmp_path, capsys):
    base = [
        "train",
        "--model",
        "softmax",
        "--data",
        "digits",
        "--quiet",
        "--no-plots",
        "--out",
        str(tmp_path),
    ]
    assert cli.main(base + ["--epochs", "2"]) == 0
    straight = json.loads((tmp_path / "metrics.json").read_text())
    other = tmp_path / "b"
    assert cli.main(base[:-1] + [str(other), "--epochs", "2", "--stop-after", "1"]) == 0
    assert len(json.loads((other / "metrics.json").read_text())["history"]) == 1
    _error(
        capsys,
        base[:-1] + [str(other), "--epochs", "3", "--resume"],
        "planned for 2 epochs",
        "--epochs 2",
    )
    assert cli.main(base[:-1] + [str(other), "--epochs", "2", "--resume"]) == 0
    resumed = json.loads((other / "metrics.json").read_text())
    assert [e["train_loss"] for e in resumed["history"]] == [
        e["train_loss"] for e in straight["history"]
    ]
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    from handgrad import train

    a = train.read_checkpoint(tmp_path / "checkpoint.npz")
    b = train.read_checkpoint(other / "checkpoint.npz")
    for key, value in a["model"].items():
        np.testing.assert_array_equal(b["model"][key].numpy(), value.numpy(), err_msg=key)


@pytest.mark.parametrize(
    "argv,fragments",
    [
        (["train", "--model", "resnet"], ["--model", "invalid choice", "resnet"]),
        (["train", "--data", "cifar"], ["unknown data set 'cifar'", "mnist5k"]),
        (["train", "--data", "mnist:"], ["unknown data set", "folder after the colon"]),
        (["train", "--batch-size", "0"], ["--batch-size", "positive integer", "0"]),
        (["train", "--batch-size", "many"], ["--batch-size", "'many'"]),
        (["train", "--epochs", "-3"], ["--epochs"]),
        (["train", "--optimizer", "lbfgs"], ["--optimizer", "lbfgs"]),
        (["train", "--optimizer", "adam", "--momentum", "0.9"], ["--momentum", "adam"]),
        (["train", "--momentum", "1.5"], ["momentum must be in [0, 1)"]),
        (["bogus"], ["invalid choice", "bogus"]),
    ],
)
def test_bad_arguments_are_one_line_errors(argv, fragments, tmp_path, capsys):
    _error(
        capsys, argv + ["--out", str(tmp_path / "out")] if argv[0] == "train" else argv, *fragments
    )
    assert not (tmp_path / "out").exists()


def test_missing_data_folder(tmp_path, capsys):
    _error(
        capsys,
        ["train", "--data", f"mnist:{tmp_path / 'nowhere'}", "--out", str(tmp_path / "out")],
        "cannot read data set",
        "does not exist",
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["truncated", "bad magic", "missing labels"])
def test_corrupt_data_folder(tmp_path, capsys, damage):
    from handgrad.data.datasets import write_idx

    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 20).astype(np.uint8)
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    target = folder / "train-images-idx3-ubyte"
    if damage == "truncated":
        target.write_bytes(target.read_bytes()[:1000])
    elif damage == "bad magic":
        raw = bytearray(target.read_bytes())
        raw[3] = 1  # 0x0801: the labels' magic number in the images file
        target.write_bytes(bytes(raw))
    else:
        (folder / "train-labels-idx1-ubyte").unlink()
    line = _error(
        capsys,
        ["train", "--data", f"mnist:{folder}", "--out", str(tmp_path / "out")],
        "cannot read data set",
    )
    assert "train-" in line  # the message names the file at fault
    assert not (tmp_path / "out").exists()


def test_checkpoint_of_another_architecture(finished_run, capsys):
    before = _snapshot(finished_run)
    _error(
        capsys,
        [
            "train",
            "--model",
            "softmax",
            "--data",
            "digits",
            "--resume",
            "--epochs",
            "3",
            "--out",
            str(finished_run),
        ],
        "written for --model mlp",
        "not softmax",
    )
    assert _snapshot(finished_run) == before


def test_checkpoint_without_meta_of_another_architecture(tmp_path, capsys):
    from handgrad import train
    from handgrad.models import mlp

    train.save_checkpoint(tmp_path / "checkpoint.npz", mlp(64, (7,), 10), epoch=1)
    before = _snapshot(tmp_path)
    _error(
        capsys,
        ["train", "--model", "mlp", "--resume", *FAST[:2], "--epochs", "2", "--out", str(tmp_path)],
        "does not fit this model",
        "shape mismatch",
    )
    assert _snapshot(tmp_path) == before


def test_corrupt_checkpoint(tmp_path, capsys):
    (tmp_path / "checkpoint.npz").write_bytes(b"garbage")
    before = _snapshot(tmp_path)
    _error(capsys, ["train", "--resume", *FAST, "--out", str(tmp_path)], "corrupt")
    assert _snapshot(tmp_path) == before


def test_resume_without_checkpoint_and_refusal_to_overwrite(finished_run, tmp_path, capsys):
    _error(capsys, ["train", "--resume", *FAST, "--out", str(tmp_path)], "nothing to resume")
    assert list(tmp_path.iterdir()) == []
    before = _snapshot(finished_run)
    _error(
        capsys,
        ["train", "--model", "mlp", *FAST, "--out", str(finished_run)],
        "already holds a run",
        "--overwrite",
    )
    assert _snapshot(finished_run) == before


def test_command_whose_module_is_missing(capsys, monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "vae", "handgrad.models.no_such_module_for_tests")
    _error(capsys, ["vae"], "handgrad vae", "not available", "no_such_module_for_tests")


def test_commands_load_lazily():
    code = (
        "import sys, handgrad.cli as c; c.main(['--version']) if False else None; "
        "print(any(m in sys.modules for m in c.COMMANDS.values()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_entry_point_in_a_subprocess(tmp_path):
    """The real process: exit status 2 and one line, no traceback."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "handgrad.cli",
            "train",
            "--batch-size",
            "0",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "o").exists()


def _needs_summary():
    analysis = pytest.importorskip("handgrad.analysis")
    if not hasattr(analysis, "summary"):
        pytest.skip("hg.analysis.summary is not there yet")


def test_summary_prints_the_layer_table(capsys):
    _needs_summary()
    assert cli.main(["summary", "--model", "lenet", "--input", "1,28,28"]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "fc" in out and "(1, 16, 4, 4)" in out.replace("[", "(")


def test_summary_bad_input(capsys):
    _needs_summary()
    _error(capsys, ["summary", "--model", "lenet", "--input", "1,x,28"], "--input")
    _error(capsys, ["summary", "--model", "lenet", "--input", "1,3,3"], "lenet")


def test_same_seed_same_report(tmp_path, capsys):
    def history(out, seed):
        assert (
            cli.main(
                [
                    "train",
                    "--model",
                    "lenet",
                    "--data",
                    "mnist5k",
                    "--limit",
                    "256",
                    "--epochs",
                    "2",
                    "--quiet",
                    "--no-plots",
                    "--seed",
                    str(seed),
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        report = json.loads((out / "metrics.json").read_text())
        return [(e["train_loss"], e["val_loss"], e["val_accuracy"]) for e in report["history"]]

    first = history(tmp_path / "a", 1)
    assert history(tmp_path / "b", 1) == first
    assert history(tmp_path / "c", 2) != first


@pytest.mark.slow
def test_demo_reaches_the_goal(tmp_path, capsys):
    from handgrad import demo

    assert demo.main(["--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["test_accuracy"] >= 0.95
    assert "goal >= 95% in < 120 s:" in out  # the time is reported, never judged by a test
    for name in ("curves.png", "misclassified.png", "confusion_matrix.png"):
        assert str(tmp_path / name) in out


# ---- output folders, absurd inputs, numerical failures (issue 11) ------------------------------


def test_train_out_under_a_file_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    _error(
        capsys,
        ["train", "--model", "softmax", *FAST, "--out", str(tmp_path / "afile" / "run")],
        "--out",
        "is a file, not a folder",
    )


def test_train_out_not_writable_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    from handgrad.commands import common

    monkeypatch.setattr(common.os, "access", lambda path, mode: False)  # root ignores chmod
    _error(
        capsys,
        ["train", "--model", "softmax", *FAST, "--out", str(tmp_path / "run")],
        "--out",
        "is not writable",
    )


def test_train_out_that_cannot_be_created_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    _error(
        capsys,
        ["train", "--model", "softmax", *FAST, "--out", str(tmp_path / "new")],
        "--out",
        "cannot create the folder",
        "Permission denied",
    )


def test_attack_out_under_a_file_is_a_one_line_error(finished_run, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    _error(
        capsys,
        [
            "attack",
            "--checkpoint",
            str(finished_run),
            "--limit",
            "3",
            "--no-plots",
            "--out",
            str(tmp_path / "afile" / "x"),
        ],
        "is a file, not a folder",
    )


def test_attack_write_failure_is_a_one_line_error(finished_run, tmp_path, capsys, monkeypatch):
    from handgrad.commands import attack

    def refuse(path, obj):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(attack, "write_json", refuse)
    _error(
        capsys,
        [
            "attack",
            "--checkpoint",
            str(finished_run),
            "--limit",
            "3",
            "--no-plots",
            "--out",
            str(tmp_path / "a"),
        ],
        "cannot write to --out",
        "Permission denied",
    )


@pytest.mark.parametrize("shape", ["1,100000,100000", "1,9999999999,9999999999", "3,600,600"])
def test_summary_absurd_input_is_a_one_line_error(shape, capsys):
    _error(capsys, ["summary", "--model", "lenet", "--input", shape], "--input", "too large")


def test_summary_out_of_memory_is_a_one_line_error(capsys, monkeypatch):
    from handgrad.models import classic

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(classic, "build_model", no_memory)
    _error(capsys, ["summary", "--model", "mlp", "--input", "1,64,64"], "does not fit in memory")


def test_diverging_training_is_a_one_line_error_without_warnings(tmp_path, capsys):
    line = _error(
        capsys,
        ["train", "--model", "mlp", *FAST, "--lr", "1e30", "--out", str(tmp_path / "run")],
        "loss became nan",
    )
    assert "RuntimeWarning" not in line


def test_json_reports_hold_no_nan(tmp_path):
    from handgrad.files import write_json

    path = write_json(
        tmp_path / "r.json",
        {"a": float("nan"), "b": [np.float32("inf"), 1.5], "c": np.array([np.nan, 2.0])},
    )
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": [None, 2.0]}
