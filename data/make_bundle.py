"""Rebuild the bundled CIFAR-10 file ``data/cifar10-train5k-test10k-jpeg.npz`` from the full JPEG copy.

    python data/make_bundle.py --source ../shared/data/cifar10-jpeg.npz

What it holds (see ``data/README.md``):

- train: the first 500 training images of each class, in their original relative order (5,000 images,
  ``index_train`` = their positions in the official training split);
- test: all 10,000 official test images, in the official order (``index_test`` = 0, 1, ..., 9999).

The JPEG files are copied byte for byte (never re-encoded), and the ``.npz`` is written with fixed
zip timestamps, so the same source always gives the same bytes and the same sha256.
"""
from __future__ import annotations

import argparse
import hashlib
import zipfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.npz"
SOURCE_SHA256 = "89d569adf56516f1473ba0668acd330f65cc2ae5631e8dadc3ed1a39bb46c1e8"
OUTPUT = ROOT / "data" / "cifar10-train5k-test10k-jpeg.npz"
TRAIN_PER_CLASS = 500
KEYS = ("train_jpeg", "train_offsets", "y_train", "index_train",
        "test_jpeg", "test_offsets", "y_test", "index_test", "class_names")


def crc32s(buffer: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """CRC-32 of each JPEG file of a split: what ``load_cifar10`` checks, image by image, in a copy that has
    ``train_crc32`` / ``test_crc32`` (an image corrupted inside the file may decode without error)."""
    return np.array([zlib.crc32(buffer[a:b]) for a, b in zip(offsets[:-1], offsets[1:])], dtype=np.uint32)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Positions of the first ``per_class`` images of every class, sorted (original relative order)."""
    chosen = [np.flatnonzero(labels == c)[:per_class] for c in range(10)]
    return np.sort(np.concatenate(chosen)).astype(np.int32)


def select_jpegs(buffer: np.ndarray, offsets: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The JPEG files at ``index``, concatenated, and their new offsets (image k is out[o[k]:o[k+1]])."""
    files = [buffer[offsets[i]:offsets[i + 1]] for i in index]
    new_offsets = np.zeros(len(files) + 1, dtype=np.int64)
    new_offsets[1:] = np.cumsum([len(f) for f in files])
    return np.concatenate(files), new_offsets


def write_npz_deterministic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez`` (uncompressed, loadable with ``allow_pickle=False``), with fixed zip timestamps."""
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)
    tmp.replace(path)


def build(source: Path, output: Path) -> str:
    """Write the bundle from the full copy ``source``; return the new file's sha256."""
    actual = sha256_of(source)
    if actual != SOURCE_SHA256:
        raise SystemExit(f"{source} has sha256 {actual}, expected {SOURCE_SHA256}: not the known full copy")
    with np.load(source, allow_pickle=False) as full:
        index_train = first_per_class(full["y_train"], TRAIN_PER_CLASS)
        index_test = np.arange(len(full["y_test"]), dtype=np.int32)
        train_jpeg, train_offsets = select_jpegs(full["train_jpeg"], full["train_offsets"], index_train)
        arrays = {
            "train_jpeg": train_jpeg, "train_offsets": train_offsets,
            "y_train": full["y_train"][index_train], "index_train": index_train,
            "test_jpeg": full["test_jpeg"], "test_offsets": full["test_offsets"],
            "y_test": full["y_test"], "index_test": index_test,
            "class_names": full["class_names"],
        }
    write_npz_deterministic(output, {key: arrays[key] for key in KEYS})
    return sha256_of(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the full cifar10-jpeg.npz")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    digest = build(args.source, args.output)
    print(f"{args.output}: {args.output.stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
