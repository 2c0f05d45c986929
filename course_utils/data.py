"""CIFAR-10 for the notebooks, three ways, one function: :func:`load_cifar10`.

1. ``load_cifar10()``: the file bundled in ``data/`` (offline default, sha256-checked): 5,000 training
   images (500 per class) and the full official test set of 10,000 images.
2. ``load_cifar10(path="cifar10-jpeg.npz")``: a copy in the same ``.npz`` layout, given by path
   (e.g. the full 50,000 / 10,000), checked for that layout before it is used.
3. ``load_cifar10(download=True, root="~/data")``: torchvision's ``CIFAR10(download=True)``
   (falls back to the bundled file, with a one-line notice, when the download fails).

Images stay ``uint8`` tensors of shape (N, 3, 32, 32). Augmentation (:func:`random_crop_flip`) and
normalisation (:func:`normalize`) run batched on the training device, never per image through PIL.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import math
import os
import socket
import tempfile
import urllib.error
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from PIL import Image

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BUNDLED_FILE = "cifar10-train5k-test10k-jpeg.npz"
FULL_FILE = "cifar10-jpeg.npz"          # the full 50,000 / 10,000 JPEG copy (not shipped; see data/README.md)
DEFAULT_DOWNLOAD_ROOT = "~/.cache/course_utils/cifar10"
# sha256 of the .npz files we know; a file with one of these names must match to be loaded.
KNOWN_SHA256 = {
    "cifar10-train5k-test10k-jpeg.npz": "0f855623c89cc3559efc0a30878af1188d8e3502bee7dc6ce1d7b3c59af8a6a4",
    "cifar10-jpeg.npz": "89d569adf56516f1473ba0668acd330f65cc2ae5631e8dadc3ed1a39bb46c1e8",
    "cifar10-mini-jpeg.npz": "fa17627b3e833bd5a50c74c3d879045c1b150e005bab25cf39417c750f7fcff4",
}
# CIFAR10Data.digest of each known file once decoded: what the committed runs were trained on. Stored runs are
# read against these without loading the data (course_utils.experiments.store).
KNOWN_DIGESTS = {
    "cifar10-train5k-test10k-jpeg.npz": "6175534087a638ec",
    "cifar10-jpeg.npz": "d57b9ff1911046da",
}
# Arrays every .npz copy must hold (see data/README.md); index_train / index_test are optional, and so are
# train_crc32 / test_crc32 (one CRC-32 of each image's JPEG bytes: an image corrupted inside the file, which
# may decode without error, is then refused by its index).
NPZ_KEYS = ("train_jpeg", "train_offsets", "y_train", "test_jpeg", "test_offsets", "y_test", "class_names")
# Per-channel mean and std of the CIFAR-10 training set (the course's labs use the same values).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (32, 32, 3)   # height, width, RGB of one decoded CIFAR-10 image
JPEG_CAVEAT = ("images stored as JPEG, so pixels differ slightly from the official CIFAR-10 "
               "and accuracies are a little lower")


def _check_flag(name: str, value: object) -> bool:
    """Return ``value`` if it is exactly True or False (not "no", 0 or None), else raise ``ValueError``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} must be True or False")
    return value


def _check_count(name: str, value: object, available: int) -> int:
    """Return ``value`` if it is an integer in 1..available, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not 1 <= value <= available:
        raise ValueError(f"{name}={value!r} must be an integer between 1 and {available:,} (the images there are)")
    return int(value)


def _as_path(name: str, value: object) -> Path:
    """``value`` as an expanded ``Path`` if it is a str or os.PathLike, else raise ``ValueError``."""
    if not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise ValueError(f"{name}={value!r} must be a file or folder path (str or pathlib.Path)")
    return Path(value).expanduser()


@dataclass(frozen=True, repr=False)
class CIFAR10Data:
    """CIFAR-10 as uint8 image tensors (N, 3, H, W) and int64 labels (N,), checked when built."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    source: str     # short human description, with the JPEG caveat where it applies
    identity: str   # file name + sha256 (or torchvision + sizes): part of every training cache key

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4 \
                    or images.shape[1] != 3:
                described = (f"shape={tuple(images.shape)}, dtype={images.dtype}"
                             if isinstance(images, torch.Tensor) else f"type={type(images).__name__}")
                raise ValueError(f"{split}_images ({described}) must be a uint8 tensor (N, 3, H, W)")
            if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 or labels.dim() != 1 \
                    or len(labels) != len(images):
                raise ValueError(f"{split}_labels must be an int64 tensor with one label per image "
                                 f"({len(images):,} images)")
        if not isinstance(self.classes, tuple) or len(self.classes) != 10 \
                or not all(isinstance(c, str) for c in self.classes):
            raise ValueError(f"classes={self.classes!r} must be a tuple of the ten class names")
        for name in ("source", "identity"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name}={getattr(self, name)!r} must be a non-empty string")

    def __repr__(self) -> str:
        return (f"CIFAR10Data({len(self.train_labels):,} train / {len(self.test_labels):,} test images, "
                f"source: {self.source})")

    @functools.cached_property
    def digest(self) -> str:
        """sha256 (16 hex digits) of the four tensors' shapes and bytes: what a stored run was trained and
        tested on, whatever ``identity`` says (a copy with other labels has another digest)."""
        hasher = hashlib.sha256()
        for tensor in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            data = tensor.detach().cpu().contiguous()
            hasher.update(f"{data.dtype} {tuple(data.shape)}".encode())
            hasher.update(data.numpy().tobytes())
        return hasher.hexdigest()[:16]

    def subset(self, *, train: int | None = None, test: int | None = None) -> CIFAR10Data:
        """The first ``train`` training and the first ``test`` test images (``None``: all of that split).

        The ``identity`` records the slice, e.g. ``"... [:512/:200]"``, so a cached training run on the
        slice is never mistaken for one on the whole set.
        """
        n_train = len(self.train_labels) if train is None else _check_count("train", train, len(self.train_labels))
        n_test = len(self.test_labels) if test is None else _check_count("test", test, len(self.test_labels))
        if (n_train, n_test) == (len(self.train_labels), len(self.test_labels)):
            return self
        return dataclasses.replace(
            self, train_images=self.train_images[:n_train], train_labels=self.train_labels[:n_train],
            test_images=self.test_images[:n_test], test_labels=self.test_labels[:n_test],
            source=f"first {n_train:,} train / {n_test:,} test images of {self.source}",
            identity=f"{self.identity} [:{n_train}/:{n_test}]")


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(_as_path("path", path), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _how_to_fix(path: Path) -> str:
    """The fix to print for a bad or missing ``.npz``: restore the bundled file, or rebuild a copy."""
    if path.name == BUNDLED_FILE:
        return (f"restore it with `git checkout -- data/{BUNDLED_FILE}` (or rebuild it with "
                "`python data/make_bundle.py`), or download CIFAR-10 with load_cifar10(download=True, root=...)")
    return ("write the copy in the layout described in data/README.md (data/make_bundle.py writes one), "
            "use the bundled data with load_cifar10(), or download CIFAR-10 with load_cifar10(download=True)")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of the ``.npz`` at ``path``, or a ``ValueError`` naming the file and the fix."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} could not be read as an .npz archive ({type(error).__name__}: {error}): "
                         f"it is truncated or not an .npz file; {_how_to_fix(path)}") from error
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array, not an .npz archive of the arrays {', '.join(NPZ_KEYS)}; "
                         f"{_how_to_fix(path)}")
    with loaded:
        try:
            return {key: loaded[key] for key in loaded.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path}: an array could not be read ({type(error).__name__}: {error}); "
                             f"{_how_to_fix(path)}") from error


def _check_split(path: Path, arrays: dict[str, np.ndarray], split: str) -> None:
    """One split of a copy: JPEG bytes, offsets that cut them into N files, N labels in 0..9."""
    jpeg, offsets, labels = arrays[f"{split}_jpeg"], arrays[f"{split}_offsets"], arrays[f"y_{split}"]
    fix = _how_to_fix(path)
    if jpeg.dtype != np.uint8 or jpeg.ndim != 1:
        raise ValueError(f"{path}: {split}_jpeg has dtype {jpeg.dtype} and shape {jpeg.shape}; it must be 1-D uint8 "
                         f"(the JPEG files concatenated); {fix}")
    if offsets.dtype.kind not in "iu" or offsets.ndim != 1 or len(offsets) < 2:
        raise ValueError(f"{path}: {split}_offsets has dtype {offsets.dtype} and shape {offsets.shape}; it must be "
                         f"1-D integers, N + 1 of them for N images; {fix}")
    if offsets[0] != 0 or offsets[-1] != len(jpeg) or not np.all(np.diff(offsets) > 0):
        raise ValueError(f"{path}: {split}_offsets must start at 0, increase, and end at len({split}_jpeg)="
                         f"{len(jpeg)} (it starts at {offsets[0]} and ends at {offsets[-1]}); {fix}")
    n_images = len(offsets) - 1
    if labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise ValueError(f"{path}: y_{split} has dtype {labels.dtype} and shape {labels.shape}; it must be 1-D "
                         f"integers; {fix}")
    if len(labels) != n_images:
        raise ValueError(f"{path} has {n_images:,} {split} images ({split}_offsets) but {len(labels):,} labels "
                         f"(y_{split}): there must be one label per image; {fix}")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: y_{split} holds labels {labels.min()}..{labels.max()}, but CIFAR-10 labels are "
                         f"0..9 (one per class); {fix}")
    index_key = f"index_{split}"
    if index_key in arrays and (arrays[index_key].ndim != 1 or len(arrays[index_key]) != n_images):
        raise ValueError(f"{path}: {index_key} has shape {arrays[index_key].shape} but must hold one position per "
                         f"image ({n_images:,}); {fix}")
    crc_key = f"{split}_crc32"
    if crc_key in arrays:
        crcs = arrays[crc_key]
        if crcs.dtype.kind not in "iu" or crcs.shape != (n_images,):
            raise ValueError(f"{path}: {crc_key} has dtype {crcs.dtype} and shape {crcs.shape}; it must hold one "
                             f"CRC-32 per image ({n_images:,}); {fix}")
        for i, (start, end) in enumerate(zip(offsets[:-1], offsets[1:])):
            if zlib.crc32(jpeg[start:end]) != int(crcs[i]):
                raise ValueError(f"{path}: {split} image {i} is corrupt: its JPEG bytes do not match the CRC-32 "
                                 f"stored for it in {crc_key}; {fix}")


def check_npz_layout(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Raise ``ValueError`` naming ``path`` and the problem unless ``arrays`` (read from ``path``) follow
    data/README.md: the arrays ``NPZ_KEYS``; per split, JPEG bytes cut by N + 1 offsets into N images with
    N labels in 0..9; the ten class names."""
    path = _as_path("path", path)
    if not isinstance(arrays, dict) or not all(isinstance(a, np.ndarray) for a in arrays.values()):
        raise ValueError(f"arrays={type(arrays).__name__} must be a dict of numpy arrays, e.g. dict(np.load(path))")
    missing = [key for key in NPZ_KEYS if key not in arrays]
    if missing:
        raise ValueError(f"{path} lacks the arrays {', '.join(missing)} (it holds {', '.join(arrays)}); "
                         f"{_how_to_fix(path)}")
    for split in ("train", "test"):
        _check_split(path, arrays, split)
    names = arrays["class_names"]
    if names.dtype.kind != "U" or names.shape != (10,) or tuple(str(c) for c in names) != CLASSES:
        shown = names.tolist() if names.size <= 12 else f"{names.size} entries"
        raise ValueError(f"{path}: class_names is {shown} but must be the ten CIFAR-10 class names "
                         f"{', '.join(CLASSES)} in this order; {_how_to_fix(path)}")


def _decode_jpegs(path: Path, split: str, buffer: np.ndarray, offsets: np.ndarray) -> torch.Tensor:
    """Concatenated JPEG files → uint8 tensor (N, 3, 32, 32); image i is buffer[offsets[i]:offsets[i+1]]."""
    images = []
    for i, (start, end) in enumerate(zip(offsets[:-1], offsets[1:])):
        try:
            image = np.asarray(Image.open(io.BytesIO(buffer[start:end].tobytes())).convert("RGB"))
        except (OSError, ValueError) as error:   # PIL.UnidentifiedImageError is an OSError
            raise ValueError(f"{path}: {split} image {i} is not a readable JPEG ({error}); "
                             f"{_how_to_fix(path)}") from error
        if image.shape != IMAGE_SHAPE:
            raise ValueError(f"{path}: {split} image {i} decodes to shape {image.shape}, not the 32×32 RGB "
                             f"of CIFAR-10 {IMAGE_SHAPE}; {_how_to_fix(path)}")
        images.append(image)
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def load_npz(path: str | Path, sha256: str | None = None) -> CIFAR10Data:
    """Load a CIFAR-10 copy in the JPEG ``.npz`` layout (see ``data/README.md``).

    The file's sha256 must equal ``sha256`` if given, else the known checksum for its file name
    (``KNOWN_SHA256``); a mismatch refuses to load. Unknown names are loaded and their sha256 recorded.
    Every file is checked for the layout (:func:`check_npz_layout`) before it is decoded.
    """
    path = _as_path("path", path)
    if sha256 is not None and (not isinstance(sha256, str) or len(sha256) != 64
                               or any(c not in "0123456789abcdef" for c in sha256.lower())):
        raise ValueError(f"sha256={sha256!r} must be None or 64 hexadecimal digits (the output of sha256sum)")
    if path.is_dir():
        raise ValueError(f"path={str(path)!r} is a folder; give the .npz file itself, e.g. {path / BUNDLED_FILE}")
    if not path.is_file():
        raise FileNotFoundError(
            f"path={str(path)!r}: no such file. The bundled data is data/{BUNDLED_FILE} in the course "
            f"repository (restore it with `git checkout -- data/{BUNDLED_FILE}`); with internet, use "
            "load_cifar10(download=True, root=...) to fetch the official CIFAR-10 through torchvision.")
    expected = sha256.lower() if sha256 is not None else KNOWN_SHA256.get(path.name)
    actual = sha256_of(path)
    if expected is not None and actual != expected:
        raise ValueError(
            f"path={str(path)!r} has sha256 {actual} but must have {expected}: the file is corrupt or "
            f"not the expected copy. Refusing to load it; {_how_to_fix(path)}.")
    arrays = _read_npz(path)
    check_npz_layout(path, arrays)
    train_images = _decode_jpegs(path, "train", arrays["train_jpeg"], arrays["train_offsets"])
    test_images = _decode_jpegs(path, "test", arrays["test_jpeg"], arrays["test_offsets"])
    train_labels = torch.from_numpy(arrays["y_train"].astype(np.int64))
    test_labels = torch.from_numpy(arrays["y_test"].astype(np.int64))
    kind = "bundled" if path.name == BUNDLED_FILE else "copy"
    source = (f"CIFAR-10 {kind} {path.name} ({len(train_labels):,} train / {len(test_labels):,} test; "
              f"{JPEG_CAVEAT})")
    data = CIFAR10Data(train_images, train_labels, test_images, test_labels, CLASSES, source,
                       identity=f"{path.name} sha256:{actual}")
    known = KNOWN_DIGESTS.get(path.name) if expected == KNOWN_SHA256.get(path.name) else None
    if known is not None and data.digest != known:
        print(f"Note: {path.name} decodes to other pixels on this machine (digest {data.digest}, the course's "
              f"{known}: another JPEG decoder?). The committed runs still load; a run you train here is keyed "
              "on these pixels.")
    return data


def _download_root(root: str | Path) -> Path:
    """``root`` as a folder torchvision can download into, or a ``ValueError`` that says why it cannot.

    A root that already holds the extracted data set (``cifar-10-batches-py/``) only needs to be readable.
    """
    folder = _as_path("root", root)
    if (folder / "cifar-10-batches-py").is_dir():
        return folder
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"root={str(root)!r} cannot be created: {existing} is a file, not a folder. "
                         "Pass a folder for the download, e.g. root='~/data/cifar10'.")
    try:                                       # try it: permissions alone do not tell (root, read-only mounts)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"root={str(root)!r} is not writable ({error.strerror or error}), so CIFAR-10 cannot be "
                         "downloaded there. Pass a folder you can write to, e.g. root='~/data/cifar10'.") from None
    return folder


def _load_torchvision(root: Path) -> CIFAR10Data:
    """Official CIFAR-10 through ``torchvision.datasets.CIFAR10(download=True)`` (lossless pixels)."""
    from torchvision.datasets import CIFAR10

    splits = [CIFAR10(str(root), train=train, download=True) for train in (True, False)]
    images = [torch.from_numpy(s.data).permute(0, 3, 1, 2).contiguous() for s in splits]
    labels = [torch.tensor(s.targets, dtype=torch.int64) for s in splits]
    return CIFAR10Data(images[0], labels[0], images[1], labels[1], tuple(splits[0].classes),
                       source="CIFAR-10 (official, via torchvision: 50,000 train / 10,000 test)",
                       identity="torchvision-CIFAR10 50000/10000")


def load_cifar10(path: str | Path | None = None, *, download: bool = False, root: str | Path | None = None,
                 sha256: str | None = None) -> CIFAR10Data:
    """CIFAR-10 as uint8 tensors: the bundled file (default), a copy by ``path``, or torchvision.

    - ``load_cifar10()``: ``data/cifar10-train5k-test10k-jpeg.npz``, sha256-checked: 5,000 training
      images (the first 500 of each class) and all 10,000 official test images, in the official order.
    - ``load_cifar10(path=...)``: a ``.npz`` copy in the same layout (e.g. the full 50,000 / 10,000).
    - ``load_cifar10(download=True, root=...)``: torchvision download into ``root`` (default
      ``~/.cache/course_utils/cifar10``); an unwritable ``root`` raises, a failed download prints a
      one-line notice and returns the bundled file.
    """
    _check_flag("download", download)
    if path is not None and download:
        raise ValueError(f"path={str(path)!r} and download=True are exclusive: give one source")
    if root is not None and not download:
        raise ValueError(f"root={str(root)!r} is where download=True saves CIFAR-10; pass download=True with it "
                         "(or path=... to load a .npz copy)")
    if sha256 is not None and download:
        raise ValueError(f"sha256={sha256!r} checks a .npz file (the bundled one or path=...); "
                         "torchvision checks its own download: drop sha256 or download=True")
    if path is not None:
        return load_npz(path, sha256)
    if download:
        folder = _download_root(DEFAULT_DOWNLOAD_ROOT if root is None else root)
        try:
            return _load_torchvision(folder)
        except (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror) as error:
            bundled = load_npz(DATA_DIR / BUNDLED_FILE, sha256)
            print(f"CIFAR-10 could not be downloaded: the network is unreachable ({error}). Using the bundled "
                  f"data/{BUNDLED_FILE} instead: {len(bundled.train_labels):,} training and "
                  f"{len(bundled.test_labels):,} test images.")
            return bundled
        except OSError as error:
            raise OSError(error.errno, f"could not write the CIFAR-10 download into root={str(folder)!r} "
                          f"({error.strerror or error}); pass a folder you can write to, e.g. root='~/data/cifar10'",
                          error.filename) from error
    return load_npz(DATA_DIR / BUNDLED_FILE, sha256)


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Batched augmentation on the images' device: pad by ``padding`` zeros, crop back to H×W at a
    random offset (dy, dx) ∈ [0, 2·padding]², and mirror left-right with probability 1/2.

    out[n, c, y, x] = padded[n, c, y + dy_n, x + dx_n]  (x → W − 1 − x when flipped).
    The random draws come from ``generator`` (a CPU generator), so the result is reproducible.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shown = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images.shape={shown} must be (N, C, H, W)")
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise ValueError(f"generator={generator!r} must be a CPU torch.Generator, e.g. "
                         "torch.Generator().manual_seed(0)")
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


def _check_channel_values(name: str, values: object, *, positive: bool) -> tuple[float, ...]:
    """``values`` as a tuple of finite numbers (each > 0 if ``positive``), else raise ``ValueError``."""
    if not isinstance(values, Sequence) or isinstance(values, str) or len(values) == 0 or not all(
            isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) and (v > 0 or not positive)
            for v in values):
        rule = "positive finite numbers" if positive else "finite numbers"
        raise ValueError(f"{name}={values!r} must be a sequence of {rule}, one per channel")
    return tuple(float(v) for v in values)


def normalize(images: torch.Tensor, mean: Sequence[float] = CIFAR10_MEAN,
              std: Sequence[float] = CIFAR10_STD, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 images (N, C, H, W) → float: x = (pixel / 255 − mean_c) / std_c, per channel c.

    C must equal len(mean) == len(std): 3 (RGB) with the CIFAR-10 defaults.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images={type(images).__name__} must be a torch.Tensor of uint8 images (N, C, H, W)")
    if images.dtype != torch.uint8:
        raise ValueError(f"images.dtype={images.dtype} must be torch.uint8")
    mean, std = _check_channel_values("mean", mean, positive=False), _check_channel_values("std", std, positive=True)
    if len(mean) != len(std):
        raise ValueError(f"mean={mean} and std={std} must have one value per channel each")
    channels = len(mean)
    if images.dim() != 4 or images.shape[1] != channels:
        hint = (" (channels last? use images.permute(0, 3, 1, 2))"
                if images.dim() == 4 and images.shape[-1] == channels else
                " (one image? use images[None])" if images.dim() == 3 and images.shape[0] == channels else "")
        raise ValueError(f"images.shape={tuple(images.shape)} must be (N, {channels}, H, W): a batch of images "
                         f"with {channels} channels{hint}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype={dtype!r} must be a floating-point torch.dtype, e.g. torch.float32")
    mean_t = torch.tensor(mean, device=images.device, dtype=dtype).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=images.device, dtype=dtype).view(1, -1, 1, 1)
    return (images.to(dtype) / 255 - mean_t) / std_t


__all__ = ["CIFAR10Data", "load_cifar10", "load_npz", "check_npz_layout", "random_crop_flip", "normalize",
           "CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "KNOWN_SHA256", "BUNDLED_FILE"]
