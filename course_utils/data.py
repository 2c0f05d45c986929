"""CIFAR-10 for the notebooks, three ways, one function: :func:`load_cifar10`.

1. ``load_cifar10()``: the 5,000 / 1,000 subset bundled in ``data/`` (offline default, sha256-checked).
2. ``load_cifar10(path="cifar10-jpeg.npz")``: a full copy in the same ``.npz`` layout, given by path.
3. ``load_cifar10(download=True, root="~/data")``: torchvision's ``CIFAR10(download=True)``
   (falls back to the bundled subset, with a one-line notice, when there is no network).

Images stay ``uint8`` tensors of shape (N, 3, 32, 32). Augmentation (:func:`random_crop_flip`) and
normalisation (:func:`normalize`) run batched on the training device, never per image through PIL.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BUNDLED_FILE = "cifar10-mini-jpeg.npz"
# sha256 of the .npz files we know; a file with one of these names must match to be loaded.
KNOWN_SHA256 = {
    "cifar10-mini-jpeg.npz": "fa17627b3e833bd5a50c74c3d879045c1b150e005bab25cf39417c750f7fcff4",
    "cifar10-jpeg.npz": "89d569adf56516f1473ba0668acd330f65cc2ae5631e8dadc3ed1a39bb46c1e8",
}
# Per-channel mean and std of the CIFAR-10 training set (the course's labs use the same values).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
JPEG_CAVEAT = ("images stored as JPEG, so pixels differ slightly from the official CIFAR-10 "
               "and accuracies are a little lower")


@dataclass(frozen=True, repr=False)
class CIFAR10Data:
    """CIFAR-10 as uint8 image tensors (N, 3, 32, 32) and int64 labels (N,)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    source: str     # short human description, with the JPEG caveat where it applies
    identity: str   # file name + sha256 (or torchvision + sizes): part of every training cache key

    def __repr__(self) -> str:
        return (f"CIFAR10Data({len(self.train_labels):,} train / {len(self.test_labels):,} test images, "
                f"source: {self.source})")


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _decode_jpegs(buffer: np.ndarray, offsets: np.ndarray) -> torch.Tensor:
    """Concatenated JPEG files → uint8 tensor (N, 3, 32, 32); image i is buffer[offsets[i]:offsets[i+1]]."""
    images = np.stack([
        np.asarray(Image.open(io.BytesIO(buffer[start:end].tobytes())).convert("RGB"))
        for start, end in zip(offsets[:-1], offsets[1:])
    ])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def load_npz(path: str | Path, sha256: str | None = None) -> CIFAR10Data:
    """Load a CIFAR-10 copy in the JPEG ``.npz`` layout (see ``data/README.md``).

    The file's sha256 must equal ``sha256`` if given, else the known checksum for its file name
    (``KNOWN_SHA256``); a mismatch refuses to load. Unknown names are loaded and their sha256 recorded.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"path={str(path)!r}: no such file. The bundled subset is data/{BUNDLED_FILE} in the course "
            f"repository (restore it with `git checkout -- data/{BUNDLED_FILE}`); with internet, use "
            "load_cifar10(download=True, root=...) to fetch the official CIFAR-10 through torchvision.")
    expected = sha256 or KNOWN_SHA256.get(path.name)
    actual = sha256_of(path)
    if expected is not None and actual != expected:
        raise ValueError(
            f"path={str(path)!r} has sha256 {actual} but must have {expected}: the file is corrupt or "
            f"not the expected copy. Refusing to load it; restore it (e.g. `git checkout -- data/{BUNDLED_FILE}`)"
            " or download CIFAR-10 with load_cifar10(download=True, root=...).")
    with np.load(path, allow_pickle=False) as z:
        train_images = _decode_jpegs(z["train_jpeg"], z["train_offsets"])
        test_images = _decode_jpegs(z["test_jpeg"], z["test_offsets"])
        train_labels = torch.from_numpy(z["y_train"].astype(np.int64))
        test_labels = torch.from_numpy(z["y_test"].astype(np.int64))
        classes = tuple(str(c) for c in z["class_names"])
    kind = "bundled subset" if path.name == BUNDLED_FILE else "copy"
    source = (f"CIFAR-10 {kind} {path.name} ({len(train_labels):,} train / {len(test_labels):,} test; "
              f"{JPEG_CAVEAT})")
    return CIFAR10Data(train_images, train_labels, test_images, test_labels, classes, source,
                       identity=f"{path.name} sha256:{actual}")


def _load_torchvision(root: str | Path) -> CIFAR10Data:
    """Official CIFAR-10 through ``torchvision.datasets.CIFAR10(download=True)`` (lossless pixels)."""
    from torchvision.datasets import CIFAR10

    root = Path(root).expanduser()
    splits = [CIFAR10(str(root), train=train, download=True) for train in (True, False)]
    images = [torch.from_numpy(s.data).permute(0, 3, 1, 2).contiguous() for s in splits]
    labels = [torch.tensor(s.targets, dtype=torch.int64) for s in splits]
    return CIFAR10Data(images[0], labels[0], images[1], labels[1], tuple(splits[0].classes),
                       source="CIFAR-10 (official, via torchvision: 50,000 train / 10,000 test)",
                       identity="torchvision-CIFAR10 50000/10000")


def load_cifar10(path: str | Path | None = None, download: bool = False,
                 root: str | Path = "~/.cache/course_utils/cifar10", sha256: str | None = None) -> CIFAR10Data:
    """CIFAR-10 as uint8 tensors: the bundled subset (default), a copy by ``path``, or torchvision.

    - ``load_cifar10()``: ``data/cifar10-mini-jpeg.npz`` (5,000 train / 1,000 test), sha256-checked.
    - ``load_cifar10(path=...)``: a ``.npz`` copy in the same layout (e.g. the full 50,000 / 10,000).
    - ``load_cifar10(download=True, root=...)``: torchvision download into ``root``; without network,
      a one-line notice and the bundled subset.
    """
    if not isinstance(download, bool):
        raise ValueError(f"download={download!r} must be True or False")
    if path is not None and download:
        raise ValueError(f"path={str(path)!r} and download=True are exclusive: give one source")
    if path is not None:
        return load_npz(path, sha256)
    if download:
        try:
            return _load_torchvision(root)
        except (OSError, RuntimeError) as error:  # URLError is an OSError; torchvision raises RuntimeError
            print(f"No network for the CIFAR-10 download ({type(error).__name__}); "
                  f"using the bundled subset data/{BUNDLED_FILE} instead.")
    return load_npz(DATA_DIR / BUNDLED_FILE, sha256)


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Batched augmentation on the images' device: pad by ``padding`` zeros, crop back to H×W at a
    random offset (dy, dx) ∈ [0, 2·padding]², and mirror left-right with probability 1/2.

    out[n, c, y, x] = padded[n, c, y + dy_n, x + dx_n]  (x → W − 1 − x when flipped).
    The random draws come from ``generator`` (a CPU generator), so the result is reproducible.
    """
    if images.dim() != 4:
        raise ValueError(f"images.shape={tuple(images.shape)} must be (N, C, H, W)")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding={padding!r} must be a non-negative integer")
    n, _, height, width = images.shape
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    cols = torch.arange(width)
    cols = torch.where(flip[:, None], cols.flip(0), cols) + dx[:, None]           # (N, W)
    rows = torch.arange(height) + dy[:, None]                                      # (N, H)
    device = images.device
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    index_n = torch.arange(n, device=device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[index_n, rows.to(device)[:, :, None], cols.to(device)[:, None, :]]
    return out.permute(0, 3, 1, 2)


def normalize(images: torch.Tensor, mean: tuple[float, ...] = CIFAR10_MEAN,
              std: tuple[float, ...] = CIFAR10_STD, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 images → float: x = (pixel / 255 − mean_c) / std_c, per channel c."""
    if images.dtype != torch.uint8:
        raise ValueError(f"images.dtype={images.dtype} must be torch.uint8")
    mean_t = torch.tensor(mean, device=images.device, dtype=dtype).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=images.device, dtype=dtype).view(1, -1, 1, 1)
    return (images.to(dtype) / 255 - mean_t) / std_t


__all__ = ["CIFAR10Data", "load_cifar10", "load_npz", "random_crop_flip", "normalize", "CLASSES",
           "CIFAR10_MEAN", "CIFAR10_STD", "KNOWN_SHA256"]
