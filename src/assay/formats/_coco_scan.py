"""A numba scanner for the common shape of a COCO results file, without building Python objects.

A results file is a JSON list of flat objects ``{"image_id": int, "category_id": int, "bbox": [4
numbers], "score": number}`` (in any key order, other keys with scalar values allowed). The scanner
reads that shape straight from the file's bytes into columns. Anything else, valid or not (a
nested extra value, an escape in a key, a boolean where a number belongs, a missing field, a syntax
error), makes it give up: the caller then reads the file with orjson, whose slower path accepts
every valid file and names the offending entry of an invalid one. So the scanner never decides
that a file is invalid; it only takes the fast road where the answer is certain.

Numbers are parsed exactly: an integer id is exact within 18 digits; a decimal whose digits form an
integer ``m <= 2**53`` and whose power of ten ``e`` lies within 22 of 0 is ``m * 10**e`` or
``m / 10**-e``, one correctly rounded IEEE operation on two exact values (Clinger's fast path), so
it equals what orjson (correctly rounded) reads. Other decimals (17 significant digits, say) are
returned as byte spans for Python's ``float`` to read.

>>> import numpy as np
>>> buf = np.frombuffer(b'[{"image_id": 7, "category_id": 2, "bbox": [1, 2.5, 3e1, 4], '
...     b'"score": 0.12345678901234567}]', np.uint8)
>>> cols = scan_results(buf)
>>> cols["image_id"].tolist(), cols["bbox"].tolist(), cols["score"].tolist()
([7], [[1.0, 2.5, 30.0, 4.0]], [0.12345678901234566])
>>> scan_results(np.frombuffer(b'[{"image_id": true}]', np.uint8)) is None
True
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["scan_results"]

_POW10 = np.array([10.0**i for i in range(23)])  # all exact in float64
_MIN_ENTRY = len(b'{"image_id":0,"category_id":0,"bbox":[0,0,0,0],"score":0}')
_TWO53 = 2**53

# parse_number's result codes
_BAD, _INT, _EASY, _HARD = 0, 1, 2, 3

# the fields the scanner reads, in slot order, and the literals it skips, as one byte array each
_FIELDS = (b"image_id", b"category_id", b"bbox", b"score")
_NAMES = np.frombuffer(b"".join(_FIELDS), np.uint8)
_NAME_AT = np.cumsum([0] + [len(f) for f in _FIELDS])
_LITERALS = np.frombuffer(b"truefalsenull", np.uint8)


@nb.njit(cache=True, inline="always")
def _ws(buf, i):  # pragma: no cover - compiled
    n = buf.shape[0]
    while i < n:
        c = buf[i]
        if c != 32 and c != 10 and c != 13 and c != 9:
            break
        i += 1
    return i


@nb.njit(cache=True)
def _number(buf, i, pow10):  # pragma: no cover - compiled
    """Parse a JSON number at ``i``: (code, end, int value, float value)."""
    n = buf.shape[0]
    j = i
    neg = False
    if j < n and buf[j] == 45:  # -
        neg = True
        j += 1
    if j >= n or buf[j] < 48 or buf[j] > 57:
        return _BAD, j, 0, 0.0
    m = 0
    digits = 0  # significant digits taken into m
    big = False
    if buf[j] == 48:  # a leading 0 stands alone
        j += 1
        if j < n and 48 <= buf[j] <= 57:
            return _BAD, j, 0, 0.0
    else:
        while j < n and 48 <= buf[j] <= 57:
            if digits < 18:
                m = m * 10 + (np.int64(buf[j]) - 48)
                digits += 1
            else:
                big = True
            j += 1
    is_int = True
    e10 = 0
    if big:  # more than 18 integer digits: orjson may refuse it (beyond 64 bits); let it decide
        return _BAD, j, 0, 0.0
    if j < n and buf[j] == 46:  # .
        is_int = False
        j += 1
        if j >= n or buf[j] < 48 or buf[j] > 57:
            return _BAD, j, 0, 0.0
        while j < n and 48 <= buf[j] <= 57:
            d = np.int64(buf[j]) - 48
            if m == 0 and d == 0 and not big:
                e10 -= 1  # leading zeros of a fraction: no significant digit yet
            elif digits < 18 and not big:
                m = m * 10 + d
                digits += 1
                e10 -= 1
            else:
                big = True
            j += 1
    if j < n and (buf[j] == 101 or buf[j] == 69):  # e E
        is_int = False
        j += 1
        esign = 1
        if j < n and (buf[j] == 43 or buf[j] == 45):
            if buf[j] == 45:
                esign = -1
            j += 1
        if j >= n or buf[j] < 48 or buf[j] > 57:
            return _BAD, j, 0, 0.0
        ex = 0
        while j < n and 48 <= buf[j] <= 57:
            if ex < 100000:
                ex = ex * 10 + (np.int64(buf[j]) - 48)
            j += 1
        e10 += esign * ex
    if is_int:
        return _INT, j, -m if neg else m, 0.0
    if big or m > _TWO53 or e10 > 22 or e10 < -22:
        return _HARD, j, 0, 0.0
    if m == 0:
        v = 0.0
    elif e10 >= 0:
        v = float(m) * pow10[e10]
    else:
        v = float(m) / pow10[-e10]
    return _EASY, j, 0, -v if neg else v


@nb.njit(cache=True)
def _key(buf, i):  # pragma: no cover - compiled
    """The field a key at ``i`` (a ``"``) names: 0..3, 4 for another key, -1 when it cannot be
    read here (an escape, a control or non-ASCII byte); and the index after its closing quote."""
    n = buf.shape[0]
    j = i + 1
    while j < n and buf[j] != 34:
        c = buf[j]
        if c == 92 or c < 32 or c > 126:
            return -1, j
        j += 1
    if j >= n:
        return -1, j
    s = i + 1
    ln = j - s
    for f in range(4):
        if _same(buf, s, ln, _NAMES, _NAME_AT[f], _NAME_AT[f + 1]):
            return f, j + 1
    return 4, j + 1


@nb.njit(cache=True, inline="always")
def _same(buf, s, ln, text, a, b):  # pragma: no cover - compiled
    """Whether ``buf[s:s + ln]`` equals ``text[a:b]``."""
    if ln != b - a:
        return False
    for k in range(ln):  # noqa: SIM110 - a generator is not numba code
        if buf[s + k] != text[a + k]:
            return False
    return True


@nb.njit(cache=True)
def _scalar(buf, i, pow10):  # pragma: no cover - compiled
    """Skip a scalar value of another key (number, plain ASCII text, true / false / null); -1 when
    it is not one the scanner can vouch for."""
    n = buf.shape[0]
    if i >= n:
        return -1
    c = buf[i]
    if c == 34:
        j = i + 1
        while j < n and buf[j] != 34:
            b = buf[j]
            if b == 92 or b < 32 or b > 126:
                return -1
            j += 1
        return j + 1 if j < n else -1
    if c == 116 or c == 102 or c == 110:  # true false null
        a, b = (0, 4) if c == 116 else ((4, 9) if c == 102 else (9, 13))
        if i + b - a > n or not _same(buf, i, b - a, _LITERALS, a, b):
            return -1
        return i + b - a
    code, j, _, _ = _number(buf, i, pow10)
    return -1 if code == _BAD else j


@nb.njit(cache=True)
def _scan(buf, cap, pow10):  # pragma: no cover - compiled
    """(ok, n, ids (n, 2), bbox (n, 4), score (n,), hard (h, 3) rows of (slot, start, end), h)
    where slot = entry * 5 + (0..3 bbox, 4 score)."""
    n_buf = buf.shape[0]
    ids = np.zeros((cap, 2), np.int64)
    box = np.zeros((cap, 4), np.float64)
    score = np.zeros(cap, np.float64)
    hard = np.zeros((16, 3), np.int64)
    nh = 0
    fail = (False, 0, ids, box, score, hard, 0)
    i = _ws(buf, 0)
    if i >= n_buf or buf[i] != 91:  # [
        return fail
    i = _ws(buf, i + 1)
    if i < n_buf and buf[i] == 93:  # an empty list: the ordinary path handles it
        return fail
    e = 0
    while True:
        if e >= cap or i >= n_buf or buf[i] != 123:  # {
            return fail
        seen = 0
        i = _ws(buf, i + 1)
        if i < n_buf and buf[i] == 125:
            return fail  # an empty object: missing fields
        while True:
            if i >= n_buf or buf[i] != 34:
                return fail
            f, i = _key(buf, i)
            if f < 0:
                return fail
            i = _ws(buf, i)
            if i >= n_buf or buf[i] != 58:  # :
                return fail
            i = _ws(buf, i + 1)
            if f < 4:
                if seen & (1 << f):  # a repeated key: orjson's reading decides
                    return fail
                seen |= 1 << f
            if f == 0 or f == 1:
                code, i, iv, _ = _number(buf, i, pow10)
                if code != _INT:
                    return fail
                ids[e, f] = iv
            elif f == 3 or f == 2:
                count = 1 if f == 3 else 4
                if f == 2:
                    if i >= n_buf or buf[i] != 91:
                        return fail
                    i = _ws(buf, i + 1)
                for k in range(count):
                    if k:
                        i = _ws(buf, i)
                        if i >= n_buf or buf[i] != 44:
                            return fail
                        i = _ws(buf, i + 1)
                    start = i
                    code, i, iv, fv = _number(buf, i, pow10)
                    if code == _BAD:
                        return fail
                    if code == _INT:
                        if iv > _TWO53 or iv < -_TWO53:
                            code = _HARD
                        else:
                            fv = float(iv)
                    if code == _HARD:
                        if nh == hard.shape[0]:
                            grown = np.zeros((2 * nh, 3), np.int64)
                            grown[:nh] = hard
                            hard = grown
                        hard[nh, 0] = e * 5 + (4 if f == 3 else k)
                        hard[nh, 1] = start
                        hard[nh, 2] = i
                        nh += 1
                        fv = 0.0
                    if f == 3:
                        score[e] = fv
                    else:
                        box[e, k] = fv
                if f == 2:
                    i = _ws(buf, i)
                    if i >= n_buf or buf[i] != 93:  # not 4 numbers
                        return fail
                    i += 1
            else:
                i = _scalar(buf, i, pow10)
                if i < 0:
                    return fail
            i = _ws(buf, i)
            if i < n_buf and buf[i] == 44:
                i = _ws(buf, i + 1)
                continue
            if i < n_buf and buf[i] == 125:  # }
                i += 1
                break
            return fail
        if seen != 15:
            return fail
        e += 1
        i = _ws(buf, i)
        if i < n_buf and buf[i] == 44:
            i = _ws(buf, i + 1)
            continue
        if i < n_buf and buf[i] == 93:  # ]
            i = _ws(buf, i + 1)
            if i != n_buf:
                return fail
            break
        return fail
    return True, e, ids, box, score, hard, nh


def scan_results(buf: np.ndarray) -> dict[str, np.ndarray] | None:
    """Columns ``image_id``, ``category_id`` (int64), ``bbox`` (n, 4) and ``score`` (float64) of a
    COCO results file's bytes (a uint8 array), or None when the file is not of the plain shape the
    scanner reads (the caller then parses it with orjson). Numbers equal orjson's reading; a
    non-finite one (an exponent beyond float64) gives None, as the ordinary path refuses it."""
    # at most one entry per "{", and per _MIN_ENTRY bytes (the shortest entry): a file of braces
    # alone cannot make the columns outgrow the file
    cap = min(int(np.count_nonzero(buf == 123)), len(buf) // _MIN_ENTRY + 1)
    ok, n, ids, box, score, hard, nh = _scan(buf, cap, _POW10)
    if not ok or n == 0:
        return None
    if nh:
        raw = buf.tobytes()
        vals = np.array([float(raw[s:t]) for s, t in hard[:nh, 1:].tolist()], np.float64)
        if not np.isfinite(vals).all():
            return None
        slot = hard[:nh, 0]
        entry, k = slot // 5, slot % 5
        is_score = k == 4
        score[entry[is_score]] = vals[is_score]
        box[entry[~is_score], k[~is_score]] = vals[~is_score]
    return {
        "image_id": ids[:n, 0].copy(),
        "category_id": ids[:n, 1].copy(),
        "bbox": box[:n].copy() if n < cap else box,
        "score": score[:n].copy() if n < cap else score,
    }
