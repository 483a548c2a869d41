"""Per-image properties, uniqueness and perceptual-hash near-duplicates.

Each image is decoded once with Pillow at reduced size (``Image.draft`` lets the JPEG decoder
scale by 1/2, 1/4 or 1/8 for free) and shrunk to at most :data:`WORK_SIZE` pixels on its long
side; every pixel statistic is computed on that copy, so the figures of one image do not depend
on how large its file is, only sharpness depends on the working size (it is measured at it).
Width, height, area and aspect ratio are the original's.

The statistics come from that one small copy's 8-bit values: brightness, contrast and the
channel means from Pillow's histograms; colourfulness and sharpness from exact integer sums
(their means and variances are exact, then rounded once to float64; the float32 arithmetic used
before was within 1.3e-6 relative of them on 10,000 photos, less close on near-flat images,
where the exact figure is the better one); the perceptual hashes, bit for bit imagehash's
``phash``, from each image's 32 x 32 grey thumbnail, a batch of images in one DCT call in the
calling process (forked workers only measure, and never import scipy's FFT).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation.quality._common import PropertyTable, group_pairs, need

__all__ = [
    "IMAGE_PROPERTIES",
    "hash_distances",
    "image_leakage",
    "image_properties",
    "near_duplicates_images",
    "uniqueness",
]

WORK_SIZE = 256
PROCESSES_FROM = 1000  # images: below, threads (no process start-up)
HASH_SIZE = 8  # 64-bit pHash

IMAGE_PROPERTIES: dict[str, str] = {
    "brightness": "mean luma (ITU-R 601-2, as Pillow converts to L), 0 black .. 1 white",
    "contrast": "standard deviation of luma, 0..0.5",
    "sharpness": f"variance of the Laplacian of luma (0..1 scale) at <= {WORK_SIZE} px",
    "colourfulness": "Hasler-Süsstrunk colourfulness on 0..255 values (0 grey, > 60 vivid)",
    "redness": "mean of the red channel, 0..1 (none for a grayscale image)",
    "greenness": "mean of the green channel, 0..1 (none for a grayscale image)",
    "blueness": "mean of the blue channel, 0..1 (none for a grayscale image)",
    "aspect_ratio": "width / height of the original image",
    "width": "width of the original image in pixels",
    "height": "height of the original image in pixels",
    "area": "width x height of the original image in pixels",
    "uniqueness": "distance to the nearest other image in a colour-histogram + 8x8 luma "
    "descriptor (standardised); 0 for an exact copy",
}
_PIXEL = [k for k in IMAGE_PROPERTIES if k != "uniqueness"]
# a grayscale image (one band, or three equal ones) has no colour channels to measure
CHANNEL_PROPERTIES = ("redness", "greenness", "blueness")
_CHANNELS = [_PIXEL.index(k) for k in CHANNEL_PROPERTIES]
_HIST_BITS = 2
_HIST_BINS = 1 << _HIST_BITS  # per channel: 64 colour bins
DESCRIPTOR_SIZE = _HIST_BINS**3 + 64


def _open_rgb(path: str | os.PathLike[str]) -> tuple[np.ndarray, int, int, Any]:
    """(RGB uint8 array at <= WORK_SIZE, original width, height, the small PIL image)."""
    from PIL import Image

    with Image.open(path) as src:
        width, height = src.size
        if src.format == "JPEG" and max(width, height) > WORK_SIZE:
            # the target size itself: the decoder scales by 1/2, 1/4, 1/8 while both sides stay
            # at least that large (a square request would not scale a 640 x 480 image at all)
            s = WORK_SIZE / max(width, height)
            src.draft("RGB", (max(1, int(width * s)), max(1, int(height * s))))
        im: Image.Image = src
        if im.mode == "P" and "transparency" in im.info:  # the same colours, without the
            im = im.convert("RGBA")  # UserWarning Pillow prints converting it to RGB directly
        if im.mode not in ("RGB", "L"):  # palette, alpha, 16-bit, CMYK: resample in RGB
            im = im.convert("RGB")
        im.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.BOX, reducing_gap=None)
        small = im if im.mode == "RGB" else im.convert("RGB")
        small.load()
    return np.asarray(small), width, height, small


_LEVELS = np.arange(256, dtype=np.float64)
_DCT_SIZE = 4 * HASH_SIZE  # imagehash.phash: a 32 x 32 grey thumbnail (highfreq_factor 4)
Measured = tuple[np.ndarray, np.ndarray, np.ndarray]  # (pixel properties, descriptor, 32 x 32)


def _sums(x: np.ndarray) -> tuple[int, int]:
    """(sum, sum of squares) of an integer array whose squares fit in int32 (|x| < 46341),
    exactly (Python integers)."""
    return int(x.sum(dtype=np.int64)), int(np.square(x, dtype=np.int32).sum(dtype=np.int64))


def _mean_std(n: int, s1: int, s2: int) -> tuple[float, float]:
    """(mean, population standard deviation) of n values from their exact sum and sum of
    squares: each rounded once."""
    return s1 / n, math.sqrt((n * s2 - s1 * s1) / (n * n))


def _laplacian(grey: np.ndarray) -> np.ndarray:
    """The 4-neighbour Laplacian of an (h, w) integer image, edges reflected (scipy.ndimage's
    ``laplace`` with mode="reflect"), as int16 (exact: |value| <= 4 x 255)."""
    h, w = grey.shape
    pad = np.empty((h + 2, w + 2), np.int16)
    pad[1:-1, 1:-1] = grey
    pad[0, 1:-1], pad[-1, 1:-1] = grey[0], grey[-1]
    pad[:, 0], pad[:, -1] = pad[:, 1], pad[:, -2]
    out = pad[:-2, 1:-1] + pad[2:, 1:-1]
    out += pad[1:-1, :-2]
    out += pad[1:-1, 2:]
    out -= 4 * pad[1:-1, 1:-1]
    return out


def _measure(path: str | os.PathLike[str] | None) -> Measured | None:
    """(pixel properties in _PIXEL order, descriptor, the 32 x 32 grey thumbnail the perceptual
    hash is computed from) of one image, None if unreadable."""
    from PIL import Image

    if path is None:
        return None
    try:
        rgb, width, height, small = _open_rgb(path)
    except (OSError, ValueError, SyntaxError, MemoryError):
        return None
    if rgb.size == 0:
        return None
    grey = small.convert("L")  # ITU-R 601-2 luma, as Pillow computes it
    n_px = rgb.shape[0] * rgb.shape[1]
    # brightness and contrast from Pillow's luma histogram (computed in C)
    lh = np.asarray(grey.histogram(), dtype=np.float64)
    luma_mean = lh @ _LEVELS / n_px
    luma_std = np.sqrt(max(lh @ (_LEVELS - luma_mean) ** 2 / n_px, 0.0))
    # Hasler-Suesstrunk from r - g and r + g - 2b (twice 0.5 (r + g) - b), exact in int16
    wide = rgb.astype(np.int16)
    r, g, b = wide[..., 0], wide[..., 1], wide[..., 2]
    rg = r - g
    yb2 = r + g
    yb2 -= b
    yb2 -= b
    rg_sum, rg_sq = _sums(rg)
    yb_sum, yb_sq = _sums(yb2)
    rg_mean, rg_std = _mean_std(n_px, rg_sum, rg_sq)
    yb_mean, yb_std = _mean_std(n_px, yb_sum, yb_sq)
    colourfulness = math.hypot(rg_std, yb_std / 2) + 0.3 * math.hypot(rg_mean, yb_mean / 2)
    if rg_sq == 0 and yb_sq == 0:  # r == g == b everywhere
        means = [math.nan] * 3  # grayscale: no red, green or blueness of its own
    else:  # the channel sums, exact, from the red one and those of r - g and r + g - 2b
        red = int(rgb[..., 0].sum(dtype=np.int64))
        green = red - rg_sum
        means = [red / n_px, green / n_px, (red + green - yb_sum) // 2 / n_px]
    lap_sum, lap_sq = _sums(_laplacian(np.asarray(grey)))
    lap_std = _mean_std(n_px, lap_sum, lap_sq)[1] / 255.0  # on the 0..1 scale
    props = np.array(
        [
            luma_mean / 255.0,
            luma_std / 255.0,
            lap_std * lap_std,
            colourfulness,
            means[0] / 255.0,
            means[1] / 255.0,
            means[2] / 255.0,
            width / height if height else np.nan,
            width,
            height,
            width * height,
        ],
        dtype=np.float64,
    )
    top = rgb >> (8 - _HIST_BITS)  # each channel's top bits: its bin
    code = top[..., 0] << (2 * _HIST_BITS)
    code |= top[..., 1] << _HIST_BITS
    code |= top[..., 2]
    counts = Image.frombuffer("L", (code.size, 1), code, "raw", "L", 0, 1).histogram()
    hist = np.asarray(counts[: _HIST_BINS**3], dtype=np.float64) / n_px
    tiny = np.asarray(grey.resize((8, 8), Image.Resampling.BOX), dtype=np.float64).ravel() / 255
    # imagehash.phash resizes with LANCZOS (its ANTIALIAS) to 32 x 32
    block = np.asarray(grey.resize((_DCT_SIZE, _DCT_SIZE), Image.Resampling.LANCZOS))
    return props, np.concatenate([hist, tiny]), block


def _phashes(blocks: np.ndarray) -> np.ndarray:
    """64-bit perceptual hashes (uint64) of (B, 32, 32) grey thumbnails, bit for bit
    imagehash.phash's (type-II DCT down the columns, then along the rows, with scipy.fftpack;
    bit k of the 8 x 8 lowest frequencies in row-major order, most significant first, set
    where the coefficient exceeds their median)."""
    fftpack = need("scipy.fftpack")
    dct = fftpack.dct(fftpack.dct(blocks, axis=1), axis=2)
    low = dct[:, :HASH_SIZE, :HASH_SIZE].reshape(len(blocks), HASH_SIZE * HASH_SIZE)
    half = HASH_SIZE * HASH_SIZE // 2
    ranked = np.sort(low, axis=1)
    median = (ranked[:, half - 1] + ranked[:, half]) / 2  # as numpy.median of 64 values
    bits = np.packbits(low > median[:, None], axis=1)
    return np.ascontiguousarray(bits).view(">u8")[:, 0].astype(np.uint64)


def _batch(paths: Sequence[str | os.PathLike[str] | None]) -> list[Measured | None]:
    """:func:`_measure` over a batch (the unit of work sent to a process)."""
    return [_measure(p) for p in paths]


def _hashed(measured: list[Measured | None]) -> list[tuple[np.ndarray, np.ndarray, int] | None]:
    """(pixel properties, descriptor, pHash) of each measured image: the batch's hashes in one
    DCT call."""
    done = [m for m in measured if m is not None]
    if not done:
        return [None] * len(measured)
    hashes = iter(_phashes(np.stack([m[2] for m in done])).tolist())
    return [None if m is None else (m[0], m[1], next(hashes)) for m in measured]


def _one(path: str | os.PathLike[str] | None) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(pixel properties in _PIXEL order, descriptor, pHash) of one image, None if unreadable."""
    return _hashed([_measure(path)])[0]


# what comes once the images are decoded: the hashes' DCT (about 0.5 s of CPU to import, so the
# forked workers, which only measure, never load it) and scikit-learn's neighbour search for
# :func:`uniqueness` (about 1.4 s; it brings scipy.stats, which the importance's model uses too)
PRELOAD = ("scipy.fftpack", "sklearn.neighbors")


def _preload() -> None:
    """Import :data:`PRELOAD` (a missing one is left for :func:`need` to report when used)."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start: the real import reports it
            continue


def default_workers() -> int:
    """One decoding thread per available core (at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def image_properties(
    paths: Sequence[str | os.PathLike[str] | None],
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    processes: bool | None = None,
) -> PropertyTable:
    """The properties of :data:`IMAGE_PROPERTIES` for each image (NaN where a file is missing or
    unreadable, counted in ``unreadable``); ``extra["phash"]`` holds the 64-bit perceptual
    hashes (uint64; ``extra["hashed"]`` says which are real) for :func:`near_duplicates_images`.
    Decoding runs on ``workers`` threads or processes (default: one per core); processes
    (forked, so nothing is imported again) by default from :data:`PROCESSES_FROM` images where
    the platform forks and the call comes from the main thread (forking a process whose other
    threads may hold locks is unsafe), since much of the per-image work holds the GIL;
    ``processes=False`` keeps to threads (e.g. inside a server). ``progress(done, total)`` is called as images
    finish.

    >>> t = image_properties(["bright.png", "missing.jpg"])            # doctest: +SKIP
    >>> round(t.values["brightness"][0], 2), t.unreadable               # doctest: +SKIP
    (0.9, 1)
    """
    if importlib.util.find_spec("scipy") is None:  # the hashes' DCT, imported once needed
        need("scipy.fftpack")
    n = len(paths)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    props = np.full((n, len(_PIXEL)), np.nan)
    desc = np.full((n, DESCRIPTOR_SIZE), np.nan)
    hashes = np.zeros(n, dtype=np.uint64)
    hashed = np.zeros(n, dtype=bool)
    step = max(1, min(256, n // 50 or 1))

    def chunk(lo: int) -> int:
        for i, out in enumerate(_hashed(_batch(paths[lo : lo + step])), start=lo):
            if out is not None:
                props[i], desc[i], hashes[i] = out[0], out[1], np.uint64(out[2])
                hashed[i] = True
        return min(lo + step, n) - lo

    done = 0
    starts = range(0, n, step)
    forks = "fork" in mp.get_all_start_methods()
    if processes is None:  # never fork from a thread other than the main one (a server's)
        processes = (
            forks and n >= PROCESSES_FROM and threading.current_thread() is threading.main_thread()
        )
    if processes and workers > 1 and n > step and forks:
        names = [None if p is None else os.fspath(p) for p in paths]
        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as procs:
            batches = procs.map(_batch, [names[lo : lo + step] for lo in starts])
            # every worker is forked once map returns: this process, otherwise idle while they
            # decode, loads what comes next meanwhile (seconds of imports off the critical path)
            loading = threading.Thread(target=_preload, name="assay-preload", daemon=True)
            loading.start()
            for lo, measured in zip(starts, batches, strict=True):
                outs = _hashed(measured)
                for i, out in enumerate(outs, start=lo):
                    if out is not None:
                        props[i], desc[i], hashes[i] = out[0], out[1], np.uint64(out[2])
                        hashed[i] = True
                done += len(outs)
                if progress is not None:
                    progress(done, n)
            loading.join()
    elif workers == 1 or n <= step:
        results = map(chunk, starts)
        for k in results:
            done += k
            if progress is not None:
                progress(done, n)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assay-props") as pool:
            for k in pool.map(chunk, starts):
                done += k
                if progress is not None:
                    progress(done, n)
    if progress is not None and n == 0:
        progress(0, 0)
    values = {name: props[:, k].copy() for k, name in enumerate(_PIXEL)}
    values["uniqueness"] = uniqueness(desc)
    unreadable = int(n - hashed.sum())
    notes = [f"{unreadable} of {n} images could not be read"] if unreadable else []
    descriptions = dict(IMAGE_PROPERTIES)
    gray = hashed & np.isnan(props[:, _CHANNELS[0]])
    if hashed.any() and gray.all(where=hashed):
        # no image in colour: redness, greenness and blueness are not properties of this set
        for name in CHANNEL_PROPERTIES:
            values.pop(name)
            descriptions.pop(name)
        notes.append("all images are grayscale: no redness, greenness or blueness")
    elif gray.any():
        notes.append(
            f"{int(gray.sum())} of {int(hashed.sum())} images are grayscale: "
            "no redness, greenness or blueness for them"
        )
    return PropertyTable(
        values=values,
        descriptions=descriptions,
        unreadable=unreadable,
        notes=notes,
        extra={"phash": hashes, "hashed": hashed},
    )


def uniqueness(descriptors: np.ndarray) -> np.ndarray:
    """Each row's Euclidean distance to its nearest other row after standardising every column
    (constant columns dropped), divided by sqrt(columns); NaN for rows with NaN and when fewer
    than two rows are complete."""
    neighbors = need("sklearn.neighbors")
    x = np.asarray(descriptors, dtype=np.float64)
    out = np.full(len(x), np.nan)
    ok = np.isfinite(x).all(axis=1) if x.ndim == 2 and x.shape[1] else np.zeros(len(x), bool)
    if ok.sum() < 2:
        return out
    z = x[ok]
    std = z.std(axis=0)
    keep = std > 1e-12
    if not keep.any():
        out[ok] = 0.0
        return out
    z = (z[:, keep] - z[:, keep].mean(axis=0)) / std[keep]
    nn = neighbors.NearestNeighbors(n_neighbors=2, algorithm="brute").fit(z)
    dist, idx = nn.kneighbors(z)
    # an exact copy may come back first or second; the nearest *other* row is whichever is not self
    self_first = idx[:, 0] == np.arange(len(z))
    d = np.where(self_first, dist[:, 1], dist[:, 0])
    out[ok] = np.maximum(d, 0.0) / np.sqrt(z.shape[1])
    return out


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits per uint64 entry (0..64, as uint8 with numpy >= 2)."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(x)
    as_bytes = x.astype(np.uint64).view(np.uint8).reshape(*x.shape, 8)  # pragma: no cover
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1).astype(np.int64)  # pragma: no cover


def hash_distances(
    a: np.ndarray, b: np.ndarray | None = None, *, max_distance: int
) -> list[tuple[int, int, int]]:
    """Pairs (i, j, Hamming distance) with distance <= ``max_distance``: within ``a`` (i < j) when
    ``b`` is None, else between ``a[i]`` and ``b[j]``; by i, then j. Chunked, so memory stays
    bounded; within ``a`` a block of rows is compared only with the rows after its first (half
    the work of the full square).

    >>> hash_distances(np.array([0b1011, 0b1001, 0b0110], dtype=np.uint64), max_distance=1)
    [(0, 1, 1)]
    """
    a = np.asarray(a, dtype=np.uint64)
    other = a if b is None else np.asarray(b, dtype=np.uint64)
    pairs: list[tuple[int, int, int]] = []
    step = max(1, (1 << 22) // max(len(other), 1))
    for lo in range(0, len(a), step):
        block = a[lo : lo + step]
        first = lo + 1 if b is None else 0  # within a: the pairs (i, j > i) only
        d = _popcount(block[:, None] ^ other[None, first:])
        ii, jj = np.nonzero(d <= max_distance)
        for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
            gi, gj = lo + i, first + j
            if b is None and gj <= gi:
                continue
            pairs.append((gi, gj, int(d[i, j])))
    return pairs


def _hashes(
    paths: Sequence[str | os.PathLike[str] | None], workers: int | None
) -> tuple[np.ndarray, np.ndarray]:
    t = image_properties(paths, workers=workers)
    return t.extra["phash"], t.extra["hashed"]


def _check_distance(max_distance: int) -> int:
    if isinstance(max_distance, bool) or not 0 <= int(max_distance) <= 64:
        raise InputError(f"max_distance must be within 0..64 bits, got {max_distance!r}")
    return int(max_distance)


def near_duplicates_images(
    paths: Sequence[str | os.PathLike[str] | None] | None = None,
    *,
    max_distance: int = 4,
    hashes: np.ndarray | None = None,
    hashed: np.ndarray | None = None,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """Groups of images whose 64-bit pHashes differ in at most ``max_distance`` bits:
    [{indices, distance (largest pair distance in the group, bits)}], largest groups first.
    Give the ``paths``, or the ``hashes`` (and which are real, ``hashed``) of
    :func:`image_properties`.

    >>> near_duplicates_images(["a.jpg", "a_copy.png", "b.jpg"])        # doctest: +SKIP
    [{'indices': [0, 1], 'distance': 2.0}]
    """
    max_distance = _check_distance(max_distance)
    if hashes is None:
        if paths is None:
            raise InputError("near_duplicates_images: give paths or hashes")
        hashes, hashed = _hashes(paths, workers)
    hashes = np.asarray(hashes, dtype=np.uint64)
    real = np.ones(len(hashes), bool) if hashed is None else np.asarray(hashed, bool)
    where = np.flatnonzero(real)
    found = hash_distances(hashes[where], max_distance=max_distance)
    pairs = [(int(where[i]), int(where[j]), float(d)) for i, j, d in found]
    return group_pairs(len(hashes), pairs)


def image_leakage(
    train: Sequence[str | os.PathLike[str] | None] | None = None,
    test: Sequence[str | os.PathLike[str] | None] | None = None,
    *,
    max_distance: int = 4,
    train_hashes: tuple[np.ndarray, np.ndarray] | None = None,
    test_hashes: tuple[np.ndarray, np.ndarray] | None = None,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """The test images with a near-copy in the training set: [{index (test), train_index,
    distance (bits)}], the closest train image for each, by test index. Give paths or the
    (hashes, hashed) pairs of :func:`image_properties`."""
    max_distance = _check_distance(max_distance)
    if train_hashes is None:
        if train is None:
            raise InputError("image_leakage: give train paths or hashes")
        train_hashes = _hashes(train, workers)
    if test_hashes is None:
        if test is None:
            raise InputError("image_leakage: give test paths or hashes")
        test_hashes = _hashes(test, workers)
    th, tok = (np.asarray(x) for x in test_hashes)
    rh, rok = (np.asarray(x) for x in train_hashes)
    tw, rw = np.flatnonzero(tok), np.flatnonzero(rok)
    best: dict[int, tuple[int, int]] = {}
    for i, j, d in hash_distances(th[tw].astype(np.uint64), rh[rw].astype(np.uint64),
                                  max_distance=max_distance):  # fmt: skip
        ti, rj = int(tw[i]), int(rw[j])
        if ti not in best or (d, rj) < best[ti]:
            best[ti] = (d, rj)
    return [
        {"index": i, "train_index": rj, "distance": float(d)} for i, (d, rj) in sorted(best.items())
    ]
