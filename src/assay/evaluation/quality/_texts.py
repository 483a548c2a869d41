"""Per-text properties and MinHash near-duplicates.

Tokens are runs of word characters (``\\w+``, Unicode), lower-cased. Near-duplicates compare
sets of character 5-grams of the normalised text (lower case, runs of white space as one space)
with MinHash (datasketch): two texts are near-copies when their estimated Jaccard similarity is
at least the threshold.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation.quality._common import PropertyTable, group_pairs, need

__all__ = [
    "TEXT_PROPERTIES",
    "minhash_signatures",
    "near_duplicates_texts",
    "oov_share",
    "text_leakage",
    "text_properties",
    "tokenize",
    "vocabulary_of",
]

NUM_PERM = 128
SHINGLE = 5
_TOKEN = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+", re.UNICODE)

TEXT_PROPERTIES: dict[str, str] = {
    "length": "characters in the text",
    "tokens": "word tokens in the text",
    "oov_share": "share of the text's tokens outside the vocabulary ({vocabulary})",
    "uniqueness": "1 - the largest estimated Jaccard similarity (MinHash, 64 values, character "
    "5-grams) to another text; 0 for an exact copy",
}


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens.

    >>> tokenize("Hello, hello WORLD!")
    ['hello', 'hello', 'world']
    """
    return _TOKEN.findall(text.lower())


def _check_texts(texts: Sequence[Any], what: str = "texts") -> list[str | None]:
    out: list[str | None] = []
    for i, t in enumerate(texts):
        if t is None or isinstance(t, str):
            out.append(t)
        else:
            raise InputError(f"{what}: entry {i} is a {type(t).__name__}, expected text")
    return out


def text_properties(
    texts: Sequence[str | None],
    vocabulary: Iterable[str] | None = None,
    *,
    seed: int = 1,
) -> PropertyTable:
    """``length`` (characters), ``tokens`` (count), ``oov_share`` (share of the tokens not in
    ``vocabulary`` -- the training texts' tokens when given, see :func:`vocabulary_of`; otherwise
    the tokens seen at least twice in ``texts`` -- NaN for a text without tokens), and
    ``uniqueness`` per text (NaN for a missing text). ``descriptions["oov_share"]`` says which
    vocabulary was used; ``extra["minhash"]`` holds the (N, 128) MinHash signatures.

    >>> t = text_properties(["a b b", "a c"])
    >>> t.values["tokens"].tolist(), t.values["oov_share"].tolist()
    ([3.0, 2.0], [0.0, 0.5])
    """
    items = _check_texts(texts)
    n = len(items)
    tokens = [tokenize(t) if t is not None else [] for t in items]
    if vocabulary is None:
        counts = Counter(tok for toks in tokens for tok in toks)
        vocab = {tok for tok, c in counts.items() if c >= 2}
        where = "tokens seen at least twice in this set"
    else:
        vocab = set(vocabulary)
        where = f"the training set's {len(vocab)} tokens"
    length = np.array([np.nan if t is None else len(t) for t in items], dtype=np.float64)
    n_tok = np.array([np.nan if t is None else len(k) for t, k in zip(items, tokens, strict=True)],
                     dtype=np.float64)  # fmt: skip
    oov = _oov(tokens, vocab)
    signatures = minhash_signatures(items, seed=seed)
    present = np.array([t is not None for t in items], dtype=bool)
    uniq = _uniqueness(signatures, present)
    descriptions = dict(TEXT_PROPERTIES)
    descriptions["oov_share"] = descriptions["oov_share"].format(vocabulary=where)
    missing = int(n - present.sum())
    return PropertyTable(
        values={"length": length, "tokens": n_tok, "oov_share": oov, "uniqueness": uniq},
        descriptions=descriptions,
        unreadable=missing,
        notes=[f"{missing} of {n} samples have no text"] if missing else [],
        extra={"minhash": signatures, "has_text": present},
    )


def _oov(tokens: list[list[str]], vocab: set[str]) -> np.ndarray:
    oov = np.full(len(tokens), np.nan)
    for i, toks in enumerate(tokens):
        if toks:
            oov[i] = sum(tok not in vocab for tok in toks) / len(toks)
    return oov


def oov_share(texts: Sequence[str | None], vocabulary: Iterable[str]) -> np.ndarray:
    """Per text, the share of its tokens not in ``vocabulary`` (NaN without tokens).

    >>> oov_share(["a b", "c", None], {"a"}).tolist()
    [0.5, 1.0, nan]
    """
    items = _check_texts(texts)
    return _oov([tokenize(t) if t is not None else [] for t in items], set(vocabulary))


def vocabulary_of(texts: Iterable[str | None]) -> set[str]:
    """Every token of ``texts`` (a training set's vocabulary for :func:`text_properties`)."""
    return {tok for t in texts if t is not None for tok in tokenize(t)}


def _shingles(text: str) -> list[bytes]:
    norm = _SPACE.sub(" ", text.lower()).strip()
    if len(norm) <= SHINGLE:
        return [norm.encode("utf-8")]
    return list({norm[i : i + SHINGLE].encode("utf-8") for i in range(len(norm) - SHINGLE + 1)})


def minhash_signatures(texts: Sequence[str | None], *, seed: int = 1) -> np.ndarray:
    """(N, 128) uint64 MinHash signatures of the texts' character 5-gram sets (datasketch; a
    missing text gets the signature of the empty set)."""
    datasketch = need("datasketch")
    items = list(texts)
    out = np.empty((len(items), NUM_PERM), dtype=np.uint64)
    proto = datasketch.MinHash(num_perm=NUM_PERM, seed=seed)
    for i, t in enumerate(items):
        m = proto.copy()
        if t is not None:
            m.update_batch(_shingles(t))
        out[i] = m.hashvalues
    return out


def _similarity_rows(sig: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Estimated Jaccard of each row of ``sig`` with each row of ``other`` (the share of equal
    MinHash values)."""
    return (sig[:, None, :] == other[None, :, :]).mean(axis=2)


def _uniqueness(sig: np.ndarray, present: np.ndarray) -> np.ndarray:
    """1 - the largest estimated Jaccard similarity to another present text."""
    out = np.full(len(sig), np.nan)
    where = np.flatnonzero(present)
    if len(where) < 2:
        return out
    # 64 of the 128 values, as 32-bit: a 1/64 resolution is plenty for a property, 4x faster
    s = np.ascontiguousarray(sig[where, :64]).astype(np.uint32)
    step = max(1, (1 << 24) // (len(s) * 64))
    best = np.zeros(len(s))
    for lo in range(0, len(s), step):
        sim = _similarity_rows(s[lo : lo + step], s)
        rows = np.arange(sim.shape[0])
        sim[rows, lo + rows] = -1.0  # not itself
        best[lo : lo + step] = sim.max(axis=1)
    out[where] = 1.0 - best
    return out


def _check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not 0.0 < float(threshold) <= 1.0:
        raise InputError(f"threshold must be within (0, 1], got {threshold!r}")
    return float(threshold)


def _lsh_pairs(
    sig: np.ndarray, present: np.ndarray, query: np.ndarray | None, threshold: float
) -> list[tuple[int, int, float]]:
    """(i, j, similarity) with estimated Jaccard >= threshold: within ``sig`` (i < j) when
    ``query`` is None, else (query row i, sig row j)."""
    datasketch = need("datasketch")
    lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    for j in np.flatnonzero(present).tolist():
        lsh.insert(j, datasketch.LeanMinHash(seed=1, hashvalues=sig[j]))
    rows = sig if query is None else query
    pairs = []
    for i in range(len(rows)):
        if query is None and not present[i]:
            continue
        for j in lsh.query(datasketch.LeanMinHash(seed=1, hashvalues=rows[i])):
            if query is None and j <= i:
                continue
            sim = float((rows[i] == sig[j]).mean())
            if sim >= threshold:
                pairs.append((i, int(j), sim))
    return pairs


def near_duplicates_texts(
    texts: Sequence[str | None] | None = None,
    *,
    threshold: float = 0.8,
    signatures: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Groups of texts whose estimated Jaccard similarity (MinHash over character 5-grams, LSH
    candidates) is at least ``threshold``: [{indices, distance (1 - the lowest similarity of a
    pair in the group)}], largest groups first. Give the texts or their signatures.

    >>> near_duplicates_texts(["the cat sat on the mat", "The cat sat on the mat!", "dogs"])
    [{'indices': [0, 1], 'distance': 0.03125}]
    """
    threshold = _check_threshold(threshold)
    if signatures is None:
        if texts is None:
            raise InputError("near_duplicates_texts: give texts or signatures")
        items = _check_texts(texts)
        signatures = minhash_signatures(items)
        present = np.array([t is not None for t in items], dtype=bool)
    else:
        present = (
            np.ones(len(signatures), bool)
            if texts is None
            else np.array([t is not None for t in texts], dtype=bool)
        )
    pairs = _lsh_pairs(np.asarray(signatures, np.uint64), present, None, threshold)
    return group_pairs(len(signatures), [(i, j, 1.0 - s) for i, j, s in pairs])


def text_leakage(
    train: Sequence[str | None] | None = None,
    test: Sequence[str | None] | None = None,
    *,
    threshold: float = 0.8,
    train_signatures: np.ndarray | None = None,
    test_signatures: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """The test texts with a near-copy in the training set: [{index (test), train_index,
    distance (1 - estimated Jaccard)}], the most similar train text for each, by test index."""
    threshold = _check_threshold(threshold)
    if train_signatures is None:
        if train is None:
            raise InputError("text_leakage: give train texts or signatures")
        train_signatures = minhash_signatures(_check_texts(train, "train"))
    if test_signatures is None:
        if test is None:
            raise InputError("text_leakage: give test texts or signatures")
        test_signatures = minhash_signatures(_check_texts(test, "test"))
    present = (
        np.ones(len(train_signatures), bool)
        if train is None
        else np.array([t is not None for t in train], dtype=bool)
    )
    pairs = _lsh_pairs(np.asarray(train_signatures, np.uint64), present,
                       np.asarray(test_signatures, np.uint64), threshold)  # fmt: skip
    best: dict[int, tuple[float, int]] = {}
    for i, j, s in pairs:
        if i not in best or (-s, j) < (-best[i][0], best[i][1]):
            best[i] = (s, j)
    return [
        {"index": i, "train_index": j, "distance": 1.0 - s} for i, (s, j) in sorted(best.items())
    ]
