"""Image-source readers for the prepare stage: scikit-learn digits or a folder of PNG/JPEG.

Every reader returns uint8 images in CHW order at the configured size and channel count,
in a deterministic order, so the same source always yields the same bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.errors import DataError

if TYPE_CHECKING:
    from pipeline.config import DataConfig

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
# 16-bit grayscale PNGs decode to these modes; Pillow's convert("L") clips them instead of scaling.
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


@dataclass(frozen=True)
class ImageSet:
    """Decoded images of one source, in source order."""

    images: np.ndarray  # uint8 [N, C, H, W], C-contiguous
    labels: np.ndarray | None  # int64 [N] indices into class_names; None when unlabeled
    class_names: list[str]
    source_ids: list[str]
    skipped: list[dict[str, str]] = field(default_factory=list)  # [{"path", "reason"}]

    @property
    def labeled(self) -> bool:
        """Whether the source carries class labels."""
        return self.labels is not None


def read_source(cfg: DataConfig) -> ImageSet:
    """Read `data.source` ("digits" or a folder path) at the configured size and channels."""
    if cfg.source == "digits":
        return read_digits(cfg.image_size, cfg.channels)
    return read_folder(Path(cfg.source), cfg.image_size, cfg.channels, cfg.on_bad_file)


def read_digits(image_size: int, channels: int) -> ImageSet:
    """scikit-learn's bundled 8x8 digits (values 0..16) as uint8 0..255 images."""
    from sklearn.datasets import load_digits  # deferred: sklearn import is slow

    digits = load_digits()
    # For integers 0..16 the only .5 case is 8 -> 127.5, where round-half-even and half-up agree.
    gray = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)  # [N, 8, 8]
    if image_size != gray.shape[-1]:
        gray = np.stack(
            [
                np.asarray(
                    Image.fromarray(g, mode="L").resize(
                        (image_size, image_size), Image.Resampling.BILINEAR
                    )
                )
                for g in gray
            ]
        )
    images = np.repeat(gray[:, None], channels, axis=1)  # 3 channels = replicated gray
    return ImageSet(
        images=np.ascontiguousarray(images),
        labels=digits.target.astype(np.int64),
        class_names=[str(i) for i in range(10)],
        source_ids=[f"digits:{i}" for i in range(len(images))],
    )


def _walk(root: Path) -> list[str]:
    """Relative POSIX paths of the regular files under root, sorted, hidden entries skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        # Hidden folders (.git, .ipynb_checkpoints, ...) are pruned like hidden files.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            full = Path(dirpath) / name
            if name.startswith(".") or not full.is_file():
                continue
            found.append(full.relative_to(root).as_posix())
    return sorted(found)


def _to_rgb_or_l(im: Image.Image) -> Image.Image:
    """Any Pillow mode to "L" or "RGB"; transparency is composited onto black."""
    if im.mode in _WIDE_MODES:
        # Scale 16-bit to 8-bit instead of Pillow's clipping convert.
        wide = np.asarray(im, dtype=np.float64)
        return Image.fromarray(np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA"):
        # Black matches the background of the digits and of most GAN datasets; dropping alpha
        # instead would expose whatever colour the encoder left under transparent pixels.
        base = im.mode[:-1]
        black = Image.new(base, im.size, 0)
        black.paste(im.convert(base), mask=im.getchannel("A"))
        return black
    if im.mode in ("L", "RGB"):
        return im
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...


def load_image(path: Path, image_size: int, channels: int) -> np.ndarray:
    """Decode one file fully and return it as uint8 CHW, center-cropped and resized."""
    with Image.open(path) as im:
        im.load()  # full decode, so a truncated file fails here and not later
        im = ImageOps.exif_transpose(im)
        im = _to_rgb_or_l(im)
    im = im.convert("L" if channels == 1 else "RGB")  # L->RGB replicates gray
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    # LANCZOS for downscaling (sharp, alias-free); BILINEAR for upscaling (no ringing).
    method = Image.Resampling.LANCZOS if side > image_size else Image.Resampling.BILINEAR
    im = im.resize((image_size, image_size), method, box=(left, top, left + side, top + side))
    arr = np.asarray(im, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _reason(exc: Exception) -> str:
    """A short, human reason for a decode failure."""
    if isinstance(exc, UnidentifiedImageError):
        return "cannot identify image file (corrupt or not a PNG/JPEG)"
    if isinstance(exc, Image.DecompressionBombError):
        return f"too large to decode safely: {exc}"
    msg = str(exc) or type(exc).__name__
    if "truncated" in msg.lower():
        return f"truncated: {msg}"
    return f"cannot decode: {msg}"


def _labels_for(root: Path, rels: list[str]) -> list[str] | None:
    """Class of each image (its direct subfolder) or None when all sit in the root."""
    depths = [rel.count("/") for rel in rels]
    if all(d == 0 for d in depths):
        return None
    if all(d == 1 for d in depths):
        return [rel.split("/", 1)[0] for rel in rels]
    misplaced = [rel for rel, d in zip(rels, depths, strict=True) if d != 1]
    raise DataError(
        f"{root}: images must either all sit directly in the folder (unlabeled) or all sit in "
        f"one subfolder per class (labeled: <root>/<class>/<image>); these do not fit the "
        f"class-folder layout:\n" + "\n".join(f"  {rel}" for rel in misplaced)
    )


def _image_files(root: Path) -> tuple[list[str], list[str]]:
    """(every file, the image files) under root, relative to it; refuses a folder without any."""
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DataError(
            f"data.source {str(root)!r} {what}; data.source should be 'digits' or a folder "
            f"of PNG/JPEG images (relative to the project root)"
        )
    files = _walk(root)
    rels = [f for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
    if not rels:
        others = f", only other files: {', '.join(files[:20])}" if files else ""
        others += f" (+{len(files) - 20} more)" if len(files) > 20 else ""
        raise DataError(
            f"{root}: no images found{others} (expected {', '.join(IMAGE_EXTENSIONS)} files "
            f"directly in the folder or in one subfolder per class; hidden files are ignored)"
        )
    return files, rels


def read_folder(root: Path, image_size: int, channels: int, on_bad_file: str) -> ImageSet:
    """Read every PNG/JPEG under root; labels are the class subfolders, if any."""
    files, rels = _image_files(root)
    # The layout is decided from file names alone, before any decoding: it is a structural
    # error that on_bad_file: skip does not cover.
    folder_names = _labels_for(root, rels)

    bad = [
        {"path": f, "reason": f"not an image ({Path(f).suffix or 'no extension'})"}
        for f in files
        if not f.lower().endswith(IMAGE_EXTENSIONS)
    ]
    arrays, kept, kept_names = [], [], []
    for i, rel in enumerate(rels):
        try:
            arrays.append(load_image(root / rel, image_size, channels))
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            bad.append({"path": rel, "reason": _reason(exc)})
            continue
        kept.append(rel)
        if folder_names is not None:
            kept_names.append(folder_names[i])
    bad.sort(key=lambda b: b["path"])

    if bad and on_bad_file == "fail":
        listing = "\n".join(f"  {b['path']}: {b['reason']}" for b in bad)
        raise DataError(
            f"{root}: {len(bad)} bad file(s):\n{listing}\n"
            f"Fix or remove them, or set data.on_bad_file: skip in params.yaml to skip them "
            f"(they are then listed in schema.json)."
        )
    if not arrays:
        listing = "\n".join(f"  {b['path']}: {b['reason']}" for b in bad)
        raise DataError(f"{root}: none of the {len(rels)} image file(s) could be read:\n{listing}")

    labels, class_names = None, []
    if folder_names is not None:
        # Classes come from the images actually read, so a class whose files were all skipped
        # does not become an empty class.
        class_names = sorted(set(kept_names))
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[n] for n in kept_names], dtype=np.int64)
    return ImageSet(
        images=np.ascontiguousarray(np.stack(arrays)),
        labels=labels,
        class_names=class_names,
        source_ids=kept,
        skipped=bad,
    )
