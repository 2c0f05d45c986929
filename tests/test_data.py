"""course_utils.data: the bundled file, checksum refusal, layout checks, error messages, batched augmentation."""
from __future__ import annotations

import dataclasses
import errno
import importlib.util
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import data as data_module
from course_utils.data import (BUNDLED_FILE, CLASSES, DATA_DIR, KNOWN_SHA256, CIFAR10Data, load_cifar10, load_npz,
                               normalize, random_crop_flip)

ROOT = Path(__file__).resolve().parents[1]
FULL_COPY = ROOT.parent / "shared" / "data" / "cifar10-jpeg.npz"   # the offline copy the bundle is made from


@pytest.fixture(scope="module")
def bundled() -> CIFAR10Data:
    return load_cifar10()


# --- the bundled file -------------------------------------------------------------------------------------

def test_bundle_holds_5000_train_and_the_full_10000_test_images(bundled):
    assert bundled.train_images.shape == (5000, 3, 32, 32) and bundled.train_images.dtype == torch.uint8
    assert bundled.test_images.shape == (10000, 3, 32, 32) and bundled.test_images.dtype == torch.uint8
    assert bundled.train_labels.dtype == torch.int64 and bundled.test_labels.dtype == torch.int64
    assert torch.bincount(bundled.train_labels).tolist() == [500] * 10    # first 500 of each class
    assert torch.bincount(bundled.test_labels).tolist() == [1000] * 10    # the official test set
    assert bundled.classes == CLASSES
    assert "JPEG" in bundled.source and "10,000 test" in bundled.source
    assert bundled.identity == f"{BUNDLED_FILE} sha256:{KNOWN_SHA256[BUNDLED_FILE]}"


def test_bundle_keeps_the_official_order(bundled):
    assert bundled.test_labels[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]    # test_batch, as released
    assert bundled.train_labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]   # data_batch_1, as released
    with np.load(DATA_DIR / BUNDLED_FILE, allow_pickle=False) as z:
        assert z["index_test"].tolist() == list(range(10000))
        assert np.all(np.diff(z["index_train"]) > 0) and z["index_train"][-1] < 50000


def test_bundle_checksum_is_the_one_documented():
    digest = data_module.sha256_of(DATA_DIR / BUNDLED_FILE)
    assert digest == KNOWN_SHA256[BUNDLED_FILE]
    readme = (DATA_DIR / "README.md").read_text()
    assert digest in readme and str((DATA_DIR / BUNDLED_FILE).stat().st_size) in readme
    assert not (DATA_DIR / "cifar10-mini-jpeg.npz").exists()    # the old subset is not shipped beside it


@pytest.mark.skipif(not FULL_COPY.is_file(), reason="needs the offline full copy ../shared/data/cifar10-jpeg.npz")
def test_make_bundle_rebuilds_the_same_bytes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_bundle", DATA_DIR / "make_bundle.py")
    make_bundle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_bundle)
    assert make_bundle.build(FULL_COPY, tmp_path / BUNDLED_FILE) == KNOWN_SHA256[BUNDLED_FILE]


def test_bundled_pixels_have_cifar10_statistics(bundled):
    means = bundled.train_images.float().mean(dim=(0, 2, 3)) / 255
    assert torch.allclose(means, torch.tensor(data_module.CIFAR10_MEAN), atol=0.01)


def test_subset_keeps_the_first_images_and_records_the_slice(bundled):
    small = bundled.subset(train=512, test=200)
    assert len(small.train_labels) == 512 and len(small.test_labels) == 200
    assert torch.equal(small.test_images, bundled.test_images[:200])
    assert small.identity == bundled.identity + " [:512/:200]"
    assert bundled.subset() is bundled
    for bad in (0, 10001, 1.5, True):
        with pytest.raises(ValueError, match=f"test={bad!r} must be an integer between 1 and 10,000"):
            bundled.subset(test=bad)


def test_data_object_refuses_mismatched_fields(bundled):
    with pytest.raises(ValueError, match="test_labels must be an int64 tensor with one label per image"):
        dataclasses.replace(bundled, test_labels=bundled.test_labels[:10])
    with pytest.raises(ValueError, match=r"train_images \(shape=\(5000, 3, 32, 32\), dtype=torch.float32\)"):
        dataclasses.replace(bundled, train_images=bundled.train_images.float())


# --- checksums and missing files ------------------------------------------------------------------------

def test_checksum_mismatch_refuses_to_load(tmp_path):
    corrupt = tmp_path / BUNDLED_FILE
    shutil.copy(DATA_DIR / BUNDLED_FILE, corrupt)
    raw = bytearray(corrupt.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="sha256.*Refusing to load.*git checkout"):
        load_npz(corrupt)


def test_explicit_checksum_is_enforced(tmp_path):
    copy = tmp_path / "my-copy.npz"
    shutil.copy(DATA_DIR / BUNDLED_FILE, copy)
    with pytest.raises(ValueError, match="must have 0{64}"):
        load_npz(copy, sha256="0" * 64)
    with pytest.raises(ValueError, match="sha256='0000' must be None or 64 hexadecimal digits"):
        load_npz(copy, sha256="0000")
    loaded = load_npz(copy)                                 # an unknown name loads, its sha256 recorded
    assert len(loaded.test_labels) == 10000 and loaded.identity.endswith(KNOWN_SHA256[BUNDLED_FILE])


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file.*git checkout.*download=True"):
        load_cifar10(path=tmp_path / "cifar10-jpeg.npz")
    with pytest.raises(ValueError, match="is a folder; give the .npz file itself"):
        load_cifar10(path=tmp_path)


# --- the layout of a .npz given by path -----------------------------------------------------------------

def tiny_copy(n_train: int = 12, n_test: int = 12) -> dict[str, np.ndarray]:
    """A valid copy in the bundled layout: the first images of each split of the bundled file."""
    with np.load(DATA_DIR / BUNDLED_FILE, allow_pickle=False) as z:
        arrays = {}
        for split, n in (("train", n_train), ("test", n_test)):
            offsets = z[f"{split}_offsets"][:n + 1]
            arrays.update({f"{split}_jpeg": z[f"{split}_jpeg"][:offsets[-1]], f"{split}_offsets": offsets,
                           f"y_{split}": z[f"y_{split}"][:n]})
        arrays["class_names"] = z["class_names"]
    return arrays


def write_npz(path: Path, **changes) -> Path:
    arrays = {**tiny_copy(), **changes}
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


def test_a_valid_tiny_copy_loads(tmp_path):
    loaded = load_cifar10(path=write_npz(tmp_path / "tiny.npz"))
    assert loaded.train_images.shape == (12, 3, 32, 32) and len(loaded.test_labels) == 12
    assert "tiny.npz" in loaded.identity


@pytest.mark.parametrize("changes, words", [
    (dict(y_train=tiny_copy()["y_train"][:10]),
     r"has 12 train images \(train_offsets\) but 10 labels \(y_train\): there must be one label per image"),
    (dict(y_test=np.arange(10, 22, dtype=np.uint8)), r"y_test holds labels 10\.\.21, but CIFAR-10 labels are 0\.\.9"),
    (dict(y_train=np.full(12, -1, dtype=np.int64)), r"y_train holds labels -1\.\.-1"),
    (dict(y_train=np.zeros(12, dtype=np.float32)), "y_train has dtype float32.*must be 1-D integers"),
    (dict(test_offsets=None), "lacks the arrays test_offsets"),
    (dict(class_names=np.array(CLASSES[:9])), "class_names is .* but must be the ten CIFAR-10 class names"),
    (dict(class_names=np.array(CLASSES[::-1])), "must be the ten CIFAR-10 class names .* in this order"),
    (dict(train_offsets=tiny_copy()["train_offsets"][:-1]), r"train_offsets must start at 0, increase, and end"),
    (dict(train_jpeg=np.zeros((2, 3), dtype=np.uint8)), "train_jpeg has dtype uint8 and shape \\(2, 3\\)"),
])
def test_bad_copies_are_refused_naming_file_problem_and_fix(tmp_path, changes, words):
    path = write_npz(tmp_path / "bad-copy.npz", **changes)
    with pytest.raises(ValueError, match=words) as caught:
        load_cifar10(path=path)
    assert str(path) in str(caught.value) and "data/README.md" in str(caught.value)


def test_an_unreadable_jpeg_is_refused_with_its_index(tmp_path):
    arrays = tiny_copy()
    jpeg = arrays["test_jpeg"].copy()
    jpeg[arrays["test_offsets"][3]:arrays["test_offsets"][4]] = 0        # image 3 is no longer a JPEG
    path = write_npz(tmp_path / "broken-jpeg.npz", test_jpeg=jpeg)
    with pytest.raises(ValueError, match="test image 3 is not a readable JPEG"):
        load_cifar10(path=path)


@pytest.mark.parametrize("content, words", [
    (b"not an archive at all", "could not be read as an .npz archive"),
    (None, "could not be read as an .npz archive"),          # a truncated .npz
])
def test_files_that_are_not_npz_archives_are_refused(tmp_path, content, words):
    path = tmp_path / "copy.npz"
    if content is None:
        write_npz(path)
        content = path.read_bytes()[:5000]
    path.write_bytes(content)
    with pytest.raises(ValueError, match=words) as caught:
        load_cifar10(path=path)
    assert str(path) in str(caught.value)


def test_a_single_npy_array_is_refused(tmp_path):
    path = tmp_path / "labels.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="holds a single array, not an .npz archive"):
        load_cifar10(path=path)


# --- download=True ----------------------------------------------------------------------------------------

def test_failed_download_falls_back_to_the_bundled_file(monkeypatch, capsys, tmp_path):
    def offline(root):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(data_module, "_load_torchvision", offline)
    loaded = load_cifar10(download=True, root=tmp_path / "cifar10")
    assert len(loaded.test_labels) == 10000
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "could not be downloaded: the network is unreachable" in out[0] and BUNDLED_FILE in out[0]
    assert "5,000 training and 10,000 test images" in out[0]


def never_download(root):
    raise AssertionError("the download must not start")


def test_unwritable_download_root_says_so(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):           # the test runs as root, whom chmod would not stop: refuse the write itself
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(data_module, "_load_torchvision", never_download)
    monkeypatch.setattr(data_module.tempfile, "TemporaryFile", refuse)
    with pytest.raises(ValueError, match="is not writable .* cannot be downloaded there"):
        load_cifar10(download=True, root=tmp_path / "cifar10")


def test_download_root_under_a_file_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(data_module, "_load_torchvision", never_download)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(ValueError, match="notes.txt is a file, not a folder"):
        load_cifar10(download=True, root=tmp_path / "notes.txt" / "cifar10")


def test_permission_error_during_download_is_not_called_no_network(monkeypatch, capsys, tmp_path):
    def read_only(root):
        raise PermissionError(errno.EACCES, "Permission denied", str(root / "cifar-10-python.tar.gz"))

    monkeypatch.setattr(data_module, "_load_torchvision", read_only)
    with pytest.raises(OSError, match="could not write the CIFAR-10 download into root="):
        load_cifar10(download=True, root=tmp_path)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("kwargs, words", [
    (dict(download="yes"), "download='yes' must be True or False"),
    (dict(download="no"), "download='no' must be True or False"),
    (dict(download=1), "download=1 must be True or False"),
    (dict(path="x.npz", download=True), "exclusive"),
    (dict(root="~/data"), "root='~/data' is where download=True saves CIFAR-10"),
    (dict(download=True, sha256="0" * 64), "checks a .npz file"),
    (dict(path=3), "path=3 must be a file or folder path"),
    (dict(download=True, root=7), "root=7 must be a file or folder path"),
])
def test_bad_arguments_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        load_cifar10(**kwargs)


def test_download_root_is_keyword_only():
    with pytest.raises(TypeError):
        load_cifar10(None, True)


# --- augmentation and normalisation ---------------------------------------------------------------------

def test_augmentation_shapes_dtype_and_determinism(bundled):
    images = bundled.train_images[:256]
    a = random_crop_flip(images, torch.Generator().manual_seed(1))
    b = random_crop_flip(images, torch.Generator().manual_seed(1))
    c = random_crop_flip(images, torch.Generator().manual_seed(2))
    assert a.shape == images.shape and a.dtype == torch.uint8
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, images)


def test_augmentation_is_a_padded_crop_or_its_mirror(bundled):
    images = bundled.train_images[:16]
    out = random_crop_flip(images, torch.Generator().manual_seed(0), padding=4)
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    flipped = 0
    for n in range(len(images)):
        candidates = {(dy, dx, flip): padded[n, :, dy:dy + 32, dx:dx + 32].flip(2) if flip
                      else padded[n, :, dy:dy + 32, dx:dx + 32]
                      for dy in range(9) for dx in range(9) for flip in (False, True)}
        matches = [key for key, crop in candidates.items() if torch.equal(crop, out[n])]
        assert matches, f"image {n} is not a crop of the padded input"
        flipped += matches[0][2]
    assert 0 < flipped < len(images)


def test_padding_zero_only_flips(bundled):
    images = bundled.train_images[:64]
    out = random_crop_flip(images, torch.Generator().manual_seed(0), padding=0)
    for n in range(len(images)):
        assert torch.equal(out[n], images[n]) or torch.equal(out[n], images[n].flip(2))


def test_augmentation_validates_inputs(bundled):
    with pytest.raises(ValueError, match="padding=-1"):
        random_crop_flip(bundled.train_images[:2], torch.Generator(), padding=-1)
    with pytest.raises(ValueError, match=r"must be \(N, C, H, W\)"):
        random_crop_flip(bundled.train_images[0], torch.Generator())
    with pytest.raises(ValueError, match="generator=0 must be a CPU torch.Generator"):
        random_crop_flip(bundled.train_images[:2], 0)


@pytest.mark.parametrize("make, kwargs, words", [
    (lambda x: x.float(), {}, "must be torch.uint8"),
    (lambda x: x[:, :1], {}, r"images.shape=\(2, 1, 32, 32\) must be \(N, 3, H, W\)"),
    (lambda x: x.permute(0, 2, 3, 1), {}, r"images.shape=\(2, 32, 32, 3\) .*channels last"),
    (lambda x: x[0], {}, r"images.shape=\(3, 32, 32\) .*one image\? use images\[None\]"),
    (lambda x: x, dict(std=(0.2, 0.0, 0.2)), "std=.* must be a sequence of positive finite numbers"),
    (lambda x: x, dict(mean=(0.5, 0.5)), "must have one value per channel"),
    (lambda x: x, dict(dtype=torch.int64), "dtype=torch.int64 must be a floating-point torch.dtype"),
])
def test_normalize_refuses_bad_input(bundled, make, kwargs, words):
    with pytest.raises(ValueError, match=words):
        normalize(make(bundled.train_images[:2]), **kwargs)


def test_normalize_centres_each_channel(bundled):
    x = normalize(bundled.train_images)
    assert x.dtype == torch.float32
    assert x.mean(dim=(0, 2, 3)).abs().max() < 0.03
    assert (x.std(dim=(0, 2, 3)) - 1.2).abs().max() < 0.2   # the course's std values are not the pixel std
