"""hg.save / hg.load (atomic .npz checkpoints) and weight interchange with PyTorch."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

import handgrad as hg
from handgrad import nn, optim


def _trained():
    hg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    for _ in range(3):
        opt.zero_grad()
        model(hg.randn(5, 3)).pow(2).mean().backward()
        opt.step()
    return model, opt


def test_checkpoint_round_trip(tmp_path):
    model, opt = _trained()
    obj = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 7,
        "lr": 1e-3,
        "name": "run-1",
        "done": False,
        "best": None,
        "history": [1.5, float("inf"), 2],
        "shape": (3, 4),
        5: "int key",
        ("a", 1): "tuple key",
        "array": np.arange(6).reshape(2, 3),
        "scalar": np.float32(2.5),
        "param": nn.Parameter(np.ones(2)),
        "tensor": hg.tensor([1.0, 2.0], requires_grad=True),
        "empty": {},
        "nested": [[{}], ()],
    }
    path = tmp_path / "ckpt.npz"
    hg.save(obj, path)
    back = hg.load(path)
    assert list(back) == list(obj)
    for k in (
        "epoch",
        "lr",
        "name",
        "done",
        "best",
        "history",
        "shape",
        5,
        ("a", 1),
        "empty",
        "nested",
    ):
        assert back[k] == obj[k] and type(back[k]) is type(obj[k]), k
    assert back["array"].dtype == np.int64 and (back["array"] == obj["array"]).all()
    assert back["scalar"] == np.float32(2.5) and back["scalar"].dtype == np.float32
    assert isinstance(back["param"], nn.Parameter) and back["param"].requires_grad
    assert back["tensor"].requires_grad and not isinstance(back["tensor"], nn.Parameter)
    for k, v in obj["model"].items():
        np.testing.assert_array_equal(back["model"][k].detach().numpy(), v.detach().numpy())
        assert back["model"][k].dtype == v.dtype
    st = back["optimizer"]["state"]
    assert set(st) == {0, 1, 2, 3, 4, 5} and st[0]["step"] == 3
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    # a loaded checkpoint resumes: load into fresh objects
    model2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    model2.load_state_dict(back["model"])
    opt2 = optim.Adam(model2.parameters(), lr=0.01, amsgrad=True)
    opt2.load_state_dict(back["optimizer"])
    assert opt2.state[list(model2.parameters())[0]]["step"] == 3


def test_path_is_used_as_given_and_no_temporary_files_remain(tmp_path):
    hg.save({"a": 1}, tmp_path / "weights.ckpt")
    assert sorted(os.listdir(tmp_path)) == ["weights.ckpt"]
    assert hg.load(tmp_path / "weights.ckpt") == {"a": 1}
    hg.save({"a": hg.ones(3)}, str(tmp_path / "c.npz"), compress=True)
    assert hg.load(tmp_path / "c.npz")["a"].shape == (3,)


def test_a_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    hg.save({"version": 1, "w": hg.ones(1000)}, path)
    before = path.read_bytes()

    def crash(f, **arrays):  # a crash half-way through the write
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        hg.save({"version": 2, "w": hg.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert hg.load(path)["version"] == 1
    with pytest.raises(TypeError, match=r"cannot store the object\['bad'\] of type object"):
        hg.save({"bad": object()}, path)
    with pytest.raises(TypeError, match="save its state_dict"):
        hg.save({"model": nn.Linear(2, 2)}, path)
    assert path.read_bytes() == before


def test_write_is_flushed_and_renamed(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os,
        "replace",
        lambda a, b: (calls.append(("replace", os.path.dirname(a))), real_replace(a, b))[1],
    )
    hg.save({"x": 1}, tmp_path / "a.npz")
    assert calls[0] == "fsync"
    assert calls[1] == ("replace", str(tmp_path))  # the temporary file is in the same folder


def test_load_refuses_foreign_files_and_object_arrays(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="not a handgrad checkpoint"):
        hg.load(tmp_path / "plain.npz")
    with pytest.raises(TypeError, match="object array"):
        hg.save({"o": np.array([{}, 1], dtype=object)}, tmp_path / "o.npz")


class _FakeTorchTensor:
    """Anything with .detach().cpu().numpy() is accepted: torch is not needed."""

    def __init__(self, a):
        self.a = np.asarray(a)
        self.shape = self.a.shape

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


def test_load_torch_state_dict_without_torch():
    model = nn.Linear(2, 3)
    sd = OrderedDict(
        weight=_FakeTorchTensor(np.arange(6.0).reshape(3, 2)),
        bias=_FakeTorchTensor([1.0, 2.0, 3.0]),
    )
    assert hg.load_torch_state_dict(model, sd) == ([], [])
    np.testing.assert_array_equal(model.weight.detach().numpy(), np.arange(6.0).reshape(3, 2))
    with pytest.raises(RuntimeError, match=r"missing keys: \['bias'\]"):
        hg.load_torch_state_dict(model, {"weight": sd["weight"]})
    with pytest.raises(RuntimeError, match=r"weight: checkpoint \(2, 2\) vs model \(3, 2\)"):
        hg.load_torch_state_dict(
            model, {"weight": _FakeTorchTensor(np.zeros((2, 2))), "bias": sd["bias"]}
        )


def test_to_torch_state_dict_round_trip():
    import torch

    model, _ = _trained()
    t = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)
    )
    t.load_state_dict(hg.to_torch_state_dict(model))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(t.state_dict()[k].numpy(), v.detach().numpy())
    assert t.state_dict()["1.num_batches_tracked"].item() == 3


def test_importing_handgrad_does_not_import_torch():
    code = (
        "import sys, handgrad, handgrad.func, handgrad.exercises.experiments; "
        "import handgrad.analysis.activations; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_save_and_load_through_file_objects(tmp_path):
    import io

    model, opt = _trained()
    buffer = io.BytesIO()
    hg.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    back = hg.load(buffer, map_location="cpu")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy())
    with open(tmp_path / "f.pt", "wb") as f:
        hg.save(model.state_dict(), f)
    with open(tmp_path / "f.pt", "rb") as f:
        assert list(hg.load(f)) == list(model.state_dict())

    class Stream:  # readable but not seekable, as a pipe or a socket file
        def __init__(self, data):
            self.data = data

        def read(self, n=-1):
            data, self.data = self.data, b""
            return data

    assert list(hg.load(Stream(buffer.getvalue()))["model"]) == list(model.state_dict())


def test_saved_files_follow_the_umask_or_keep_the_replaced_files_mode(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old = os.umask(0o027)
    try:
        hg.save({"x": 1}, tmp_path / "new.pt")
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(old)
    mode = os.stat(tmp_path / "new.pt").st_mode & 0o777
    assert mode == os.stat(tmp_path / "plain").st_mode & 0o777 == 0o640
    os.chmod(tmp_path / "new.pt", 0o604)
    hg.save({"x": 2}, tmp_path / "new.pt")
    assert os.stat(tmp_path / "new.pt").st_mode & 0o777 == 0o604
    assert hg.load(tmp_path / "new.pt") == {"x": 2}


def test_whole_modules_and_optimizers_are_refused_with_the_state_dict_advice(tmp_path):
    model, opt = _trained()
    for obj in (model, opt, {"net": model}):
        with pytest.raises(TypeError, match=r"no.*pickle.*save its state_dict\(\) instead"):
            hg.save(obj, tmp_path / "m.pt")
    assert not os.listdir(tmp_path)


# ---- load validation and stale temporaries (issue 11) -----------------------------------------


def _broken(path, how):
    hg.save({"w": hg.ones(64, 64), "n": 3}, path)
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"not a zip archive at all" * 10)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "bad_json":
        import zipfile

        with zipfile.ZipFile(path, "w") as zf:
            buf = io.BytesIO()
            np.save(buf, np.array("{not json"))
            zf.writestr("__handgrad_structure__.npy", buf.getvalue())
    elif how == "missing_entry":
        import json
        import zipfile

        with zipfile.ZipFile(path, "w") as zf:
            buf = io.BytesIO()
            meta = {"format": 1, "root": {"t": "tensor", "k": "a7", "requires_grad": False}}
            np.save(buf, np.array(json.dumps(meta)))
            zf.writestr("__handgrad_structure__.npy", buf.getvalue())


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "bad_json", "missing_entry"])
def test_load_gives_one_clear_error_naming_the_file(tmp_path, how):
    path = tmp_path / f"{how}.npz"
    _broken(path, how)
    with pytest.raises(ValueError, match=rf"load: '.*{how}\.npz'") as info:
        hg.load(path)
    # the cause is named in the message, not left to a raw zip/JSON/key error
    assert type(info.value) is ValueError and info.value.__cause__ is None


def test_load_refuses_an_absurd_declared_size_before_inflating(tmp_path, monkeypatch):
    import zipfile

    from handgrad import serialization

    monkeypatch.setattr(serialization, "_MIN_LIMIT", 2**20)  # the ratio rule, at a small scale
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        buf = io.BytesIO()
        np.save(buf, np.zeros(20_000_000, np.uint8))  # 20 MB of zeros deflate to ~20 kB
        zf.writestr("a0.npy", buf.getvalue())
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("inflated before the check"))
    with pytest.raises(ValueError, match=r"declares \d+ bytes uncompressed.*refused before"):
        hg.load(path)


def test_load_refuses_an_array_header_larger_than_its_entry(tmp_path):
    import zipfile

    path = tmp_path / "lying.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**9,)}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a0.npy", header.getvalue() + b"\0" * 64)  # the header writes the magic
    with pytest.raises(ValueError, match=r"declares an array of shape \(1000000000,\)"):
        hg.load(path)


def test_load_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        hg.load(tmp_path / "nope.npz")


def test_save_removes_stale_temporaries_of_the_same_target(tmp_path):
    import os

    path = tmp_path / "ckpt.npz"
    stale = tmp_path / ".ckpt.npz.abc123.tmp"  # left by a save that was killed
    fresh = tmp_path / ".ckpt.npz.def456.tmp"  # a save in progress elsewhere
    other = tmp_path / ".other.npz.abc123.tmp"  # another target's
    for f in (stale, fresh, other):
        f.write_bytes(b"partial")
    old = 1_000_000_000  # a 2001 modification time: stale, without reading the clock
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    hg.save({"a": 1}, path)
    assert not stale.exists() and fresh.exists() and other.exists()
    assert hg.load(path) == {"a": 1}


def test_load_from_a_file_object_gets_the_same_archive_checks():
    import io

    with pytest.raises(ValueError, match=r"'BytesIO' is not a handgrad checkpoint"):
        hg.load(io.BytesIO(b"not a zip at all"))
    buffer = io.BytesIO()
    hg.save({"w": hg.ones(1000)}, buffer)
    truncated = io.BytesIO(buffer.getvalue()[:-200])
    with pytest.raises(ValueError, match="not a handgrad checkpoint|truncated or corrupt"):
        hg.load(truncated)
