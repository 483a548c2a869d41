"""Pascal VOC XML folders: ``root/Annotations/*.xml`` (images in ``root/JPEGImages``).

Boxes ``xmin ymin xmax ymax`` become ``[xmin, ymin, xmax - xmin, ymax - ymin]`` (absolute pixel
coordinates, no +1). Objects marked ``difficult`` become crowd regions (``iscrowd``): like VOC's
"difficult" they are never counted as missed and a detection on them is neither right nor wrong;
note that COCO's crowd rule then applies to them (overlap = intersection / detection area).
Classes come from ``root/labels.txt`` / ``names.txt`` when present, else the sorted object names.
Image ids are 0, 1, ... in sorted annotation-file order.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); (d / "Annotations").mkdir()
>>> _ = (d / "Annotations" / "a.xml").write_text("<annotation><filename>a.jpg</filename>"
...     "<size><width>50</width><height>40</height></size><object><name>cat</name>"
...     "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>11</xmax><ymax>22</ymax></bndbox></object>"
...     "</annotation>")
>>> load_detection_gt(d).boxes.tolist()
[[1.0, 2.0, 10.0, 20.0]]
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from assay.errors import InputError
from assay.formats.detection_types import DetectionGroundTruth, check_utf8_names, read_utf8

__all__ = ["load_detection_gt", "write_voc"]


def _num(el: ET.Element | None, tag: str, file: str, where: str) -> float:
    t = None if el is None else el.findtext(tag)
    if t is None:
        raise InputError(f"missing <{tag}>", file=file, where=where)
    try:
        v = float(t)
    except ValueError:
        raise InputError(f"<{tag}> is not a number", file=file, where=where) from None
    if not math.isfinite(v):
        raise InputError(f"<{tag}> is not a finite number", file=file, where=where)
    return v


def _pixels(el: ET.Element, tag: str, file: str) -> int:
    """An image size in pixels: a finite number >= 0 (0 = unknown)."""
    v = _num(el, tag, file, "size")
    if not 0 <= v < 2**31:
        raise InputError(f"<{tag}> must be a number of pixels >= 0", file=file, where="size")
    return int(v)


def load_detection_gt(
    source: str | Path, *, images_root: str | Path | None = None
) -> DetectionGroundTruth:
    """Read a Pascal VOC folder into a DetectionGroundTruth (``difficult`` -> crowd)."""
    root = Path(source)
    ann_dir = root / "Annotations"
    if not ann_dir.is_dir():
        raise InputError("no Annotations/ folder", file=str(root))
    files = sorted(ann_dir.glob("*.xml"))
    check_utf8_names(files)
    parsed = []
    for f in files:
        try:
            tree = ET.parse(f).getroot()
        except ET.ParseError as e:
            raise InputError(f"invalid XML ({e})", file=str(f)) from None
        except (ValueError, LookupError):  # e.g. an unknown encoding declared
            raise InputError("invalid XML (unreadable encoding)", file=str(f)) from None
        size = tree.find("size")
        w = _pixels(size, "width", str(f)) if size is not None else 0
        h = _pixels(size, "height", str(f)) if size is not None else 0
        objs = []
        for j, o in enumerate(tree.findall("object")):
            where = f"object {j}"
            name = (o.findtext("name") or "").strip()
            if not name:
                raise InputError("missing <name>", file=str(f), where=where)
            bb = o.find("bndbox")
            if bb is None:
                raise InputError("missing <bndbox>", file=str(f), where=where)
            x0, y0 = _num(bb, "xmin", str(f), where), _num(bb, "ymin", str(f), where)
            x1, y1 = _num(bb, "xmax", str(f), where), _num(bb, "ymax", str(f), where)
            if x1 <= x0 or y1 <= y0:
                raise InputError("box has non-positive size", file=str(f), where=where)
            diff = (o.findtext("difficult") or "0").strip() not in ("0", "", "false")
            objs.append((name, [x0, y0, x1 - x0, y1 - y0], diff))
        fname = tree.findtext("filename") or (f.stem + ".jpg")
        parsed.append((fname.strip(), w, h, objs))
    names = None
    for n in ("labels.txt", "names.txt", "classes.txt"):
        if (root / n).is_file():
            names = [ln.strip() for ln in read_utf8(root / n).splitlines() if ln.strip()]
            break
    if names is None:
        names = sorted({o[0] for p in parsed for o in p[3]})
    index = {n: i for i, n in enumerate(names)}
    boxes, labels, image, crowd = [], [], [], []
    for i, (_, _, _, objs) in enumerate(parsed):
        for j, (name, b, diff) in enumerate(objs):
            if name not in index:
                shown = name if len(name) <= 40 else name[:40] + "..."
                raise InputError(
                    f"unknown class {shown!r}", file=str(files[i]), where=f"object {j}"
                )
            boxes.append(b)
            labels.append(index[name])
            image.append(i)
            crowd.append(diff)
    img_root = Path(images_root) if images_root is not None else root / "JPEGImages"
    gt = DetectionGroundTruth.from_arrays(
        classes=names,
        image_ids=np.arange(len(parsed)),
        file_names=[p[0] for p in parsed],
        widths=[p[1] for p in parsed],
        heights=[p[2] for p in parsed],
        boxes=np.array(boxes, np.float64).reshape(-1, 4),
        labels=labels,
        image=image,
        iscrowd=crowd,
        images_root=img_root,
        source=str(root),
    )
    gt.image_places = [str(f) for f in files]
    return gt


def write_voc(gt: DetectionGroundTruth, root: str | Path) -> Path:
    """Write ``root/Annotations/*.xml`` (one per image, crowd -> difficult) and ``labels.txt``."""
    root = Path(root)
    ann = root / "Annotations"
    ann.mkdir(parents=True, exist_ok=True)
    (root / "labels.txt").write_text("".join(c + "\n" for c in gt.classes))
    for i, f in enumerate(gt.file_names):
        a = ET.Element("annotation")
        ET.SubElement(a, "filename").text = f
        size = ET.SubElement(a, "size")
        ET.SubElement(size, "width").text = str(int(gt.widths[i]))
        ET.SubElement(size, "height").text = str(int(gt.heights[i]))
        ET.SubElement(size, "depth").text = "3"
        for j in np.flatnonzero(gt.image == i):
            o = ET.SubElement(a, "object")
            ET.SubElement(o, "name").text = gt.classes[int(gt.labels[j])]
            ET.SubElement(o, "difficult").text = str(int(gt.iscrowd[j]))
            bb = ET.SubElement(o, "bndbox")
            x, y, w, h = gt.boxes[j].tolist()
            for tag, v in (("xmin", x), ("ymin", y), ("xmax", x + w), ("ymax", y + h)):
                ET.SubElement(bb, tag).text = repr(float(v))
        ET.ElementTree(a).write(ann / f"{i:06d}.xml")
    return root
