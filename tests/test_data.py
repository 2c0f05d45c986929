"""course_utils.data: the bundled subset, checksum refusal, error messages, batched augmentation."""
from __future__ import annotations

import shutil

import pytest
import torch

from course_utils import data as data_module
from course_utils.data import (BUNDLED_FILE, DATA_DIR, CIFAR10Data, load_cifar10, load_npz, normalize,
                               random_crop_flip)


@pytest.fixture(scope="module")
def bundled() -> CIFAR10Data:
    return load_cifar10()


def test_bundled_subset_loads_offline_with_official_labels(bundled):
    assert bundled.train_images.shape == (5000, 3, 32, 32) and bundled.train_images.dtype == torch.uint8
    assert bundled.test_images.shape == (1000, 3, 32, 32) and bundled.test_images.dtype == torch.uint8
    assert bundled.train_labels.dtype == torch.int64
    # class-balanced: 500 train and 100 test images per class
    assert torch.bincount(bundled.train_labels).tolist() == [500] * 10
    assert torch.bincount(bundled.test_labels).tolist() == [100] * 10
    assert bundled.classes[0] == "airplane" and bundled.classes[-1] == "truck"
    assert "JPEG" in bundled.source
    assert data_module.KNOWN_SHA256[BUNDLED_FILE] in bundled.identity


def test_bundled_pixels_have_cifar10_statistics(bundled):
    means = bundled.train_images.float().mean(dim=(0, 2, 3)) / 255
    assert torch.allclose(means, torch.tensor(data_module.CIFAR10_MEAN), atol=0.01)


def test_checksum_mismatch_refuses_to_load(tmp_path):
    corrupt = tmp_path / BUNDLED_FILE
    shutil.copy(DATA_DIR / BUNDLED_FILE, corrupt)
    raw = bytearray(corrupt.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="sha256.*Refusing to load"):
        load_npz(corrupt)


def test_explicit_checksum_is_enforced(tmp_path):
    copy = tmp_path / "my-copy.npz"
    shutil.copy(DATA_DIR / BUNDLED_FILE, copy)
    with pytest.raises(ValueError, match="must have 0000"):
        load_npz(copy, sha256="0000")
    assert len(load_npz(copy).train_labels) == 5000      # an unknown name loads, its sha256 recorded


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file.*git checkout.*download=True"):
        load_cifar10(path=tmp_path / "cifar10-jpeg.npz")


def test_no_network_falls_back_to_bundled_subset(monkeypatch, capsys):
    def offline(root):
        raise OSError("no network")

    monkeypatch.setattr(data_module, "_load_torchvision", offline)
    loaded = load_cifar10(download=True, root="unused")
    assert len(loaded.train_labels) == 5000
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "bundled subset" in out[0]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="download='yes'"):
        load_cifar10(download="yes")
    with pytest.raises(ValueError, match="exclusive"):
        load_cifar10(path="x.npz", download=True)


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


def test_augmentation_and_normalize_validate_inputs(bundled):
    with pytest.raises(ValueError, match="padding=-1"):
        random_crop_flip(bundled.train_images[:2], torch.Generator(), padding=-1)
    with pytest.raises(ValueError, match=r"must be \(N, C, H, W\)"):
        random_crop_flip(bundled.train_images[0], torch.Generator())
    with pytest.raises(ValueError, match="must be torch.uint8"):
        normalize(bundled.train_images[:2].float())


def test_normalize_centres_each_channel(bundled):
    x = normalize(bundled.train_images)
    assert x.dtype == torch.float32
    assert x.mean(dim=(0, 2, 3)).abs().max() < 0.03
    assert (x.std(dim=(0, 2, 3)) - 1.2).abs().max() < 0.2   # the course's std values are not the pixel std
