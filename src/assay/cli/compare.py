"""`assay compare A B`: the comparison of two evaluations (stored, or predictions files with a
ground truth), printed, the CI gate, and the comparison without annotations."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from assay.cli.inputs import check_input_paths
from assay.errors import ParameterError
from assay.evaluation.metric_names import (
    HEADLINE,
    TASKS,
    accepted_names,
    find,
    headline,
    resolve_any,
)

# the metrics --fail-if-worse takes: the headline metrics of every task, from the registry
GATE_METRICS = tuple(dict.fromkeys(m.key for task in TASKS for m in headline(task)))


def parse_gate(text: str | None) -> tuple[str, ...]:
    """The metrics of ``--fail-if-worse`` (a comma-separated list of names of the registry of
    metric names, any case or alias: "mAP,F1", "Accuracy"); a name that is no task's headline
    metric is a usage error listing the accepted names. A name becomes its key where the key
    means the same in every task ("Accuracy" -> "accuracy"); one whose meaning depends on the
    task ("f1": macro F1 of a classifier, F1 of a detector; "mAP", as "AP" is also a
    classifier's average precision) is kept as typed, for :func:`gate` to resolve.

    >>> parse_gate("Accuracy, logloss,f1,mAP")
    ('accuracy', 'log_loss', 'f1', 'mAP')
    """
    if text is None:
        return ()

    def meaning(name: str) -> dict[str, str]:  # task -> the headline key the name is there
        return {t: m.key for t, m in resolve_any(name).items() if m.key in HEADLINE[t]}

    names = [t.strip() for t in text.split(",") if t.strip()]
    out, bad = [], []
    for name in names:
        means = meaning(name)
        keys = set(means.values())
        if not keys:
            bad.append(name)
            continue
        key = keys.pop()
        out.append(key if not keys and meaning(key) == means else name)
    if not names or bad:
        raise ParameterError(
            f"--fail-if-worse: unknown metric {', '.join(bad) or repr(text)} "
            f"(choose from {accepted_names(among=GATE_METRICS)})"
        )
    return tuple(dict.fromkeys(out))


def gate(result: dict[str, Any], metrics: tuple[str, ...]) -> list[str]:
    """The lines saying where B fails the gate on ``metrics`` (names of the registry, resolved
    for the comparison's task; one family: Holm across them). Without a margin: where B is
    significantly worse than A (Holm-adjusted p < 1 - level). With one (the comparison was made
    with ``margin`` on these metrics, ``result["margin"]``): where B is not shown non-inferior,
    i.e. the worst plausible drop (the bad-side bound at the metric's Holm level) exceeds the
    margin. A metric the comparison does not have (AP of a classifier) is a usage error listing
    the ones it has."""
    from assay.evaluation.compare import p_text, size_text, verdict
    from assay.metrics.paired import holm

    task = result["task"]
    known = [row["metric"] for row in result["metrics"]]
    keys, other = [], []
    for name in metrics:
        found = find(name, task)
        if found is None or found.key not in known:
            other.append(name)
        elif found.key not in keys:
            keys.append(found.key)
    if other:
        raise ParameterError(
            f"--fail-if-worse: {', '.join(other)} is not a metric of a {task} "
            f"comparison (choose from {accepted_names(task, among=known)})"
        )
    level = result["level"]
    margin = result.get("margin")
    if margin is not None and margin.get("metrics"):
        failures = []
        items = {m["metric"]: m for m in margin["metrics"]}
        for key in keys:
            m = items.get(key)
            if m is None or m["noninferior"]:
                continue
            worst = m["worst_drop"]
            drop = "undefined" if worst is None else size_text(key, worst)
            failures.append(
                f"B may be worse than A on {m['label']} by more than the margin of "
                f"{size_text(key, m['margin'])}: worst plausible drop {drop} (one-sided "
                f"{(1 + m['worst_level']) / 2 * 100:.4g}% bound; Holm across {len(keys)} gate metric"
                f"{'s' if len(keys) > 1 else ''}: non-inferiority "
                f"{p_text(m['p_noninferior_holm'])})"
            )
        return failures
    rows = [row for row in result["metrics"] if row["metric"] in keys]
    tested = [row for row in rows if row["p_value"] is not None and row["delta"] is not None]
    failures = []
    for row, adjusted in zip(tested, holm([r["p_value"] for r in tested]), strict=True):
        worse = (row["delta"] < 0) == row["higher_is_better"]
        if worse and adjusted < 1 - level:
            alone = {**row, "p_holm": None}
            failures.append(
                f"{verdict(alone, level)} (Holm across {len(tested)} gate metric"
                f"{'s' if len(tested) > 1 else ''}: {p_text(float(adjusted))})"
            )
    return failures


def _num(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}"


# the console width from which the comparison table shows every column
WIDE_TABLE = 110

SHORT_TESTS = {
    "McNemar exact": "McNemar",
    "Tango score (McNemar)": "Tango/McNemar",
    "paired bootstrap": "bootstrap",
    "paired bootstrap (normal)": "bootstrap SE",
    "group bootstrap (normal)": "group bootstrap SE",
    "bootstrap over images": "bootstrap",
    "bootstrap over images (normal)": "bootstrap SE",
    "delta method (normal)": "delta method",
    "DeLong (normal)": "DeLong",
}


def _p(v: Any) -> str:
    if v is None:
        return "—"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def print_comparison(result: dict[str, Any], console: Console) -> None:
    """The comparison's table of differences, its verdicts, and what changed per sample (image)
    and per class."""
    a, b = result["a"], result["b"]
    for side, name in ((a, "A"), (b, "B")):
        where = side["name"] if side["id"] is None else f"evaluation {side['id']}  {side['name']}"
        console.print(f"[bold]{name}[/] = {where}")
    if result["task"] == "detection":
        pa, pb = result["points"]["a"], result["points"]["b"]
        console.print(
            f"{result['n_samples']} images · A at IoU {pa['iou']:g}, confidence {pa['score']:g}; "
            f"B at IoU {pb['iou']:g}, confidence {pb['score']:g} · {result['n_resamples']} "
            "paired resamples of the images\n"
        )
    else:
        console.print(
            f"{result['n_samples']} samples matched by id · thresholds A "
            f"{result['thresholds']['a']:g}, B {result['thresholds']['b']:g} · "
            f"{_how_tested(result['n_resamples'])}\n"
        )
    level = round(result["level"] * 100)
    table = Table(title="B − A", title_justify="left", box=None, pad_edge=False)
    # a terminal narrower than the whole table gets the numbers whole and the Monte-Carlo error
    # and test columns left out (--json has them), never numbers cut short with an ellipsis
    wide = console.width >= WIDE_TABLE
    columns = [("metric", "left"), ("A", "right"), ("B", "right"), ("B − A", "right"),
               (f"{level}% CI", "right"), ("p", "right"), ("± MC", "right"),
               ("p (Holm)", "right"), ("test", "left")]  # fmt: skip
    shown = [c for c in columns if wide or c[0] not in ("± MC", "test")]
    for col, just in shown:
        table.add_column(
            col,
            justify=just,  # type: ignore[arg-type]
            no_wrap=col not in ("test", "metric"),
            overflow="fold" if col == "metric" else "ellipsis",
        )
    keep = [i for i, c in enumerate(columns) if c in shown]
    for row in result["metrics"]:
        ci = "—" if row["low"] is None else f"[{row['low']:+.4f}, {row['high']:+.4f}]"
        delta = "—" if row["delta"] is None else f"{row['delta']:+.4f}"
        style = "bold" if row["significant"] else None
        mc = f"{row['p_mc']:.3f}" if row.get("p_mc") else ""  # 0: the p is not random
        name = row["label"] + (" *" if row.get("primary") else "")
        cells = (
            name,
            _num(row["a"]),
            _num(row["b"]),
            delta,
            ci,
            _p(row["p_value"]),
            mc,
            _p(row.get("p_holm")),
            SHORT_TESTS.get(row["test"] or "", row["test"] or ""),
        )
        table.add_row(*(cells[i] for i in keep), style=style)
    console.print(table)
    family = result.get("family")
    if family:
        console.print(
            f"* primary metric, p alone {_p(family['primary_p'])}. Verdicts: Holm across the "
            f"{len(family['headline'])} headline rows (p (Holm))"
            + (
                "; ± MC: the Monte-Carlo error of a bootstrap p (another seed moves it about "
                "that much)."
                if wide
                else f". A terminal of {WIDE_TABLE} columns also shows each p's Monte-Carlo "
                "error and its test (--json has them)."
            )
        )
    console.print()
    for line in result["verdicts"]:
        console.print(f"  {line}")
    margin = result.get("margin")
    if margin:
        for line in margin["verdicts"]:
            console.print(f"  {line}")
    if result["task"] == "detection":
        _print_detection_changes(result, console)
    else:
        _print_classification_changes(result, console)


def _print_classification_changes(result: dict[str, Any], console: Console) -> None:
    d = result["disagreements"]
    console.print(
        f"\nSamples: {d['fixed']} fixed (A wrong → B right), {d['broken']} broken (A right → B "
        f"wrong), {d['prediction_changed']} with another prediction; mean |confidence change| "
        f"{d['mean_abs_confidence_change']:.4f}"
    )
    changed = [r for r in result["per_class"] if r["recall_delta"] not in (None, 0)]
    changed.sort(key=lambda r: r["p_holm"] if r["p_holm"] is not None else 1.0)
    if changed:
        per = Table(title="\nPer class · recall (Holm-adjusted McNemar p)", title_justify="left",
                    box=None, pad_edge=False)  # fmt: skip
        for col in ("class", "n", "recall A", "recall B", "B − A", "p (Holm)", "F1 A", "F1 B"):
            per.add_column(col, justify="left" if col == "class" else "right")
        for r in changed[:15]:
            per.add_row(r["label"], str(r["n"]), _num(r["recall_a"], 3), _num(r["recall_b"], 3),
                        f"{r['recall_delta']:+.3f}", _p(r["p_holm"]), _num(r["f1_a"], 3),
                        _num(r["f1_b"], 3), style="bold" if r["significant"] else None)  # fmt: skip
        console.print(per)
        if len(changed) > 15:
            console.print(f"… and {len(changed) - 15} more classes whose recall changed")


def _print_detection_changes(result: dict[str, Any], console: Console) -> None:
    im = result["images"]
    console.print(
        f"\nImages: {im['better']} with fewer errors (FP + FN) under B, {im['worse']} with more, "
        f"{im['same']} unchanged"
    )
    per_iou = Table(title="\nmAP per IoU (B − A)", title_justify="left", box=None, pad_edge=False)
    for col in ("IoU", "A", "B", "B − A", "CI"):
        per_iou.add_column(col, justify="right")
    for r in result["per_iou"]:
        ci = "—" if r["low"] is None else f"[{r['low']:+.4f}, {r['high']:+.4f}]"
        per_iou.add_row(f"{r['iou']:.2f}", _num(r["a"]), _num(r["b"]), f"{r['delta']:+.4f}", ci)
    console.print(per_iou)
    rows = [r for r in result["per_class"] if r["ap_delta"] is not None]
    rows.sort(key=lambda r: r["p_holm"] if r["p_holm"] is not None else 1.0)
    if rows:
        per = Table(title="\nPer class · AP .50:.95 (Holm-adjusted bootstrap p)",
                    title_justify="left", box=None, pad_edge=False)  # fmt: skip
        for col in ("class", "boxes", "AP A", "AP B", "B − A", "p (Holm)", "AP50 A", "AP50 B"):
            per.add_column(col, justify="left" if col == "class" else "right")
        for r in rows[:15]:
            per.add_row(r["label"], str(r["n"]), _num(r["ap_a"], 3), _num(r["ap_b"], 3),
                        f"{r['ap_delta']:+.3f}", _p(r["p_holm"]), _num(r["ap50_a"], 3),
                        _num(r["ap50_b"], 3), style="bold" if r["significant"] else None)  # fmt: skip
        console.print(per)
    worst = im["worse_images"][:5]
    if worst:
        console.print("\nImages B made worse (TP/FP/FN, A → B):")
        for r in worst:
            console.print(
                f"  {r['file_name'] or r['id']}: {r['tp_a']}/{r['fp_a']}/{r['fn_a']} → "
                f"{r['tp_b']}/{r['fp_b']}/{r['fn_b']}"
            )


def compare_files(
    gt: Path | None,
    a: Path,
    b: Path,
    *,
    threshold: float | None,
    iou: float | None,
    score: float | None,
    n: int | None,
    seed: int,
    margin: float | None = None,
    margin_metrics: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """With ``gt``: evaluate both predictions files on it and compare them (nothing stored;
    ``margin`` on ``margin_metrics`` as :func:`assay.evaluation.compare.compare` takes them).
    Without: the two files' agreement (:mod:`assay.evaluation.compare.agreement`)."""
    from assay.evaluation.compare import compare
    from assay.evaluation.results import OperatingPoint
    from assay.evaluation.run import evaluate_files

    check_input_paths(gt, a, b)  # never a pipe, a device or a file over the cap
    for path in (a, b):
        if path.is_dir() and gt is None:
            raise ParameterError(f"{path}: a folder; without --gt give two predictions files")
    if gt is None:
        return _agreement(a, b, iou=iou, score=score)
    ea = evaluate_files(gt, a, threshold=threshold)
    eb = evaluate_files(gt, b, threshold=threshold)
    # fields left out: each side's default (the argmax; detection's F1-optimal confidence)
    at = OperatingPoint(threshold=threshold, iou=iou, score=score)
    out = compare(ea.results, eb.results, at_a=at, at_b=at, n=n, seed=seed, margin=margin,
                  margin_metrics=margin_metrics)  # fmt: skip
    return {"a": {"id": None, "name": str(a)}, "b": {"id": None, "name": str(b)}, **out}


def _agreement(a: Path, b: Path, *, iou: float | None, score: float | None) -> dict[str, Any]:
    from assay.evaluation.compare.agreement import classification_agreement, detection_agreement
    from assay.formats.tables import read_predictions

    def is_results_json(p: Path) -> bool:
        if p.suffix.lower() != ".json":
            return False
        with p.open("rb") as f:
            return f.read(4096).lstrip().startswith(b"[")

    if is_results_json(a) or is_results_json(b):
        out = detection_agreement(
            a, b, iou=0.5 if iou is None else iou, score=0.0 if score is None else score
        )
    else:
        pa, pb = read_predictions(a), read_predictions(b)
        out = classification_agreement(pa.ids, pa.classes, pa.scores, pb.ids, pb.classes, pb.scores)
    return {"a": {"id": None, "name": str(a)}, "b": {"id": None, "name": str(b)}, **out}


def print_agreement(result: dict[str, Any], console: Console) -> None:
    """The comparison of two models' predictions without annotations."""
    console.print(f"[bold]A[/] = {result['a']['name']}")
    console.print(f"[bold]B[/] = {result['b']['name']}")
    console.print("No annotations: how far B agrees with A.\n")
    if result["task"] == "detection":
        r = result
        console.print(
            f"{r['n_images']} images with a box in either file · IoU {r['iou']:g} · boxes from "
            f"confidence {r['score']:g}"
        )
        console.print(
            f"Boxes: A {r['boxes_a']}, B {r['boxes_b']}; matched {r['matched']} (mean IoU "
            f"{_num(r['mean_iou'], 3)}), of which {r['agreed']} agree on the class and "
            f"{r['class_flips']} flip; only A {r['only_a']}, only B {r['only_b']}"
        )
        console.print(f"[bold]Box agreement {r['agreement'] * 100:.1f}%[/]")
        rows = Table(box=None, pad_edge=False)
        for col in ("image id", "boxes A", "boxes B", "agreed", "agreement"):
            rows.add_column(col, justify="left" if col == "image id" else "right")
        for m in r["most_changed"][:10]:
            rows.add_row(m["id"], str(m["boxes_a"]), str(m["boxes_b"]), str(m["agreed"]),
                         f"{m['agreement'] * 100:.0f}%")  # fmt: skip
        if r["most_changed"]:
            console.print("\n[bold]Images that changed most[/]")
            console.print(rows)
        return
    r = result
    level = round(r["level"] * 100)
    console.print(
        f"{r['n_samples']} samples matched by id · [bold]top-1 agreement "
        f"{r['agreement'] * 100:.1f}%[/] ({level}% CI {r['low'] * 100:.1f}–{r['high'] * 100:.1f})"
        f" · Cohen's kappa {_num(r['cohen_kappa'], 3)} · {r['changed']} samples change class · "
        f"mean |change| of A's top-class score {r['mean_abs_confidence_change']:.4f}"
    )
    flips = [
        (r["flip"]["rows"][i], r["flip"]["columns"][j], v)
        for i, row in enumerate(r["flip"]["counts"])
        for j, v in enumerate(row)
        if i != j and v
    ]
    flips.sort(key=lambda t: -t[2])
    if flips:
        console.print("\n[bold]Most frequent flips (A's class → B's)[/]")
        table = Table(box=None, pad_edge=False)
        for col in ("A", "B", "samples"):
            table.add_column(col, justify="right" if col == "samples" else "left")
        for x, y, v in flips[:10]:
            table.add_row(x, y, str(v))
        console.print(table)
    console.print("\n[bold]Samples that changed most[/]")
    changed = Table(box=None, pad_edge=False)
    for col in ("id", "A", "B", "A's score", "B's score of it", "distance"):
        changed.add_column(col, justify="left" if col in ("id", "A", "B") else "right")
    for m in r["most_changed"][:10]:
        changed.add_row(m["id"], m["predicted_a"], m["predicted_b"], f"{m['confidence_a']:.3f}",
                        f"{m['confidence_b']:.3f}", f"{m['distance']:.3f}")  # fmt: skip
    console.print(changed)


def print_leaderboard(board: dict[str, Any], console: Console) -> None:
    """The ranked table: each evaluation's value with its own interval, the ranks it may hold,
    its difference from the best of the others with that difference's simultaneous interval,
    significant rows marked; then what "significantly worse" means and the winner's interval
    that accounts for its selection."""
    dv = board["dataset_version"]
    level = round(board["level"] * 100)
    console.print(
        f"[bold]{dv['dataset']} {dv['version']}[/] (dataset version {dv['id']}) · ranked by "
        f"{board['label']} ({'higher' if board['higher_is_better'] else 'lower'} is better) · "
        f"{board['n_resamples']} paired resamples\n"
    )
    table = Table(box=None, pad_edge=False)
    vs = f"vs best [{level}% sim.]"
    for col in ("#", "ranks", "eval", "name", "model", board["label"], f"{level}% CI", vs,
                "p (sim.)", "sig."):  # fmt: skip
        table.add_column(col, justify="left" if col in ("name", "model", "sig.") else "right",
                         no_wrap=col in ("ranks", f"{level}% CI", vs, "p (sim.)"))  # fmt: skip
    for r in board["rows"]:
        ci = "—" if r["low"] is None else f"[{r['low']:.4f}, {r['high']:.4f}]"
        if r["best"]:
            delta = "best"
        elif r["delta"] is None:
            delta = "—"
        elif r["delta_low"] is None:
            delta = f"{r['delta']:+.4f}"
        else:
            delta = f"{r['delta']:+.4f} [{r['delta_low']:+.4f}, {r['delta_high']:+.4f}]"
        lo, hi = r.get("rank_low"), r.get("rank_high")
        ranks = "—" if lo is None else (str(lo) if lo == hi else f"{lo}–{hi}")
        mark = "worse" if r["significant"] else ("" if r["best"] else "n.s.")
        table.add_row(str(r["rank"]), ranks, str(r["id"]), r["name"], r["model"] or "",
                      _num(r["value"]), ci, delta, _p(r["p_holm"]), mark,
                      style="dim" if r["significant"] else None)  # fmt: skip
    console.print(table)
    n_sig = sum(r["significant"] for r in board["rows"])
    others = len(board["rows"]) - 1
    console.print(
        f"\n{n_sig} of {others} significantly worse than the best"
        + (" (n.s.: not significantly different from it)" if others > n_sig else "")
    )
    crit = board.get("critical_value")
    console.print(
        f"[dim]{board['procedure']}{f', ±{crit:.2f} SE' if crit is not None else ''}: "
        f'"worse" = the interval of (its value - the best of the others) lies below 0, i.e. '
        f"some model is surely better; about {100 - level}% of boards of equal models get any "
        f"(family-wise). ranks: the ranks each model may hold, all at once. The {level}% CI column is "
        "each model's own interval, not accounting for which came first.[/]"
    )
    top = board["rows"][0] if board["rows"] else None
    if top is not None and top.get("simultaneous_low") is not None:
        console.print(
            f"The winner {top['name']}'s {level}% interval accounting for its selection "
            f"(simultaneous over the {others + 1} models): {_num(top['value'])} "
            f"[{top['simultaneous_low']:.4f}, {top['simultaneous_high']:.4f}]"
        )


def _how_tested(n_resamples: int) -> str:
    """How a classification comparison's intervals were found: a paired (group) bootstrap, or
    from every sample without resampling (score test for accuracy, delta method / DeLong)."""
    if n_resamples:
        return f"{n_resamples} paired resamples of the groups"
    return "paired intervals from every sample (no resampling)"
