"""Batch inference over image files: order, progress, streaming to disk and resume."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from assay.errors import InputError
from assay.runners import load_batch, load_runner, run_arrays, run_images
from tests.runners.models import constant_outputs, linear_softmax, reference_probs, write_images


class Stop(Exception):
    pass


class Counting:
    """Wraps a runner and counts the batches it predicts."""

    def __init__(self, runner):
        self.inner = runner
        self.path, self.spec = runner.path, runner.spec
        self.batches = 0

    def describe(self):
        return self.inner.describe()

    def run(self, batch):
        return self.inner.run(batch)

    def predict(self, batch, geometries=None):
        self.batches += 1
        return self.inner.predict(batch, geometries)


@pytest.fixture
def model_and_images(tmp_path):
    path, w, b = linear_softmax(tmp_path / "m.onnx", metadata={"classes": "a,b,c,d"})
    paths = write_images(tmp_path / "images", 23, size=(20, 12))
    return path, w, b, paths


def test_scores_in_input_order_with_progress(model_and_images):
    path, w, b, paths = model_and_images
    runner = load_runner(path)
    seen = []
    res = run_images(runner, paths, batch_size=5, progress=lambda d, t: seen.append((d, t)))
    x, _ = load_batch(paths, runner.spec)
    np.testing.assert_allclose(res.scores, reference_probs(x, w, b), rtol=1e-5, atol=1e-7)
    assert seen == [(0, 23), (5, 23), (10, 23), (15, 23), (20, 23), (23, 23)]
    assert (
        res.computed_batches == 5
        and res.resumed_batches == 0
        and res.classes == ("a", "b", "c", "d")
    )
    direct = run_arrays(runner, x, batch_size=7)
    np.testing.assert_allclose(direct.scores, res.scores)


@pytest.mark.parametrize(("workers", "prefetch"), [(0, 1), (1, 1), (2, 3), (None, 2)])
def test_resume_after_interruption(model_and_images, tmp_path, workers, prefetch):
    path, _, _, paths = model_and_images
    out = tmp_path / "preds"
    full = run_images(load_runner(path), paths, batch_size=4)

    first = Counting(load_runner(path))
    switch = sys.getswitchinterval()

    def stop_after_two(done, total):
        if done >= 8:
            raise Stop

    with pytest.raises(Stop):
        run_images(
            first,
            paths,
            batch_size=4,
            out_dir=out,
            progress=stop_after_two,
            workers=workers,
            prefetch=prefetch,
        )
    assert first.batches == 2
    assert sys.getswitchinterval() == switch  # put back after the interrupted run
    assert (out / "scores.f64").stat().st_size == 8 * 4 * 8  # two batches: 8 rows of 4 scores
    assert not list(out.glob(".*tmp"))

    second = Counting(load_runner(path))
    seen = []
    res = run_images(second, paths, batch_size=4, out_dir=out, progress=lambda d, t: seen.append(d))
    assert second.batches == 4 and res.computed_batches == 4 and res.resumed_batches == 2
    assert seen[0] == 8 and seen[-1] == 23
    np.testing.assert_array_equal(res.scores, full.scores)
    assert (out / "scores.f64").stat().st_size == 23 * 4 * 8
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["n"] == 23 and manifest["n_batches"] == 6 and manifest["classes"] == list("abcd")
    )

    third = Counting(load_runner(path))
    again = run_images(third, paths, batch_size=4, out_dir=out)
    assert third.batches == 0 and again.resumed_batches == 6
    np.testing.assert_array_equal(again.scores, full.scores)


def test_a_torn_tail_is_cut_and_computed_again(model_and_images, tmp_path):
    path, _, _, paths = model_and_images
    out = tmp_path / "preds"
    full = run_images(load_runner(path), paths, batch_size=10, out_dir=out)
    scores = out / "scores.f64"
    data = scores.read_bytes()
    scores.write_bytes(data[: 8 * 4 * 13 + 5])  # killed while writing batch 2 (rows 10..19)
    runner = Counting(load_runner(path))
    res = run_images(runner, paths, batch_size=10, out_dir=out)
    assert runner.batches == 2 and res.resumed_batches == 1
    np.testing.assert_array_equal(res.scores, full.scores)
    assert scores.read_bytes() == data


def test_a_broken_detection_shard_is_computed_again(tmp_path):
    path = constant_outputs(
        tmp_path / "det.onnx",
        {
            "boxes": np.array([[0.0, 0.0, 8.0, 8.0]]),
            "scores": np.array([0.5]),
            "labels": np.array([0]),
        },
    )
    paths = write_images(tmp_path / "images", 5, size=(16, 16))
    out = tmp_path / "preds"
    full = run_images(load_runner(path, task="detection"), paths, batch_size=2, out_dir=out)
    (out / "batch-000001.npz").write_bytes(b"garbage")
    runner = Counting(load_runner(path, task="detection"))
    res = run_images(runner, paths, batch_size=2, out_dir=out)
    assert runner.batches == 1
    for a, b in zip(res.detections, full.detections, strict=True):
        np.testing.assert_array_equal(a.boxes, b.boxes)


def test_a_folder_of_another_run_is_refused(model_and_images, tmp_path):
    path, _, _, paths = model_and_images
    out = tmp_path / "preds"
    run_images(load_runner(path), paths[:10], batch_size=4, out_dir=out)
    with pytest.raises(InputError, match="predictions of another run"):
        run_images(load_runner(path), paths[:10], batch_size=5, out_dir=out)
    with pytest.raises(InputError, match="predictions of another run"):
        run_images(load_runner(path), paths[1:11], batch_size=4, out_dir=out)


def test_a_bad_image_stops_the_run_naming_it(model_and_images, tmp_path):
    path, _, _, paths = model_and_images
    bad = tmp_path / "images" / "img_0007.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"img_0007.png: cannot decode the image"):
        run_images(load_runner(path), paths, batch_size=4, out_dir=tmp_path / "p")
    assert (tmp_path / "p" / "scores.f64").stat().st_size == 4 * 4 * 8  # the batch before it


def test_detection_run_resumes_with_boxes(tmp_path):
    path = constant_outputs(
        tmp_path / "det.onnx",
        {
            "boxes": np.array([[0.0, 0.0, 8.0, 8.0], [4.0, 4.0, 16.0, 12.0]]),
            "scores": np.array([0.2, 0.9]),
            "labels": np.array([0, 1]),
        },
    )
    paths = write_images(tmp_path / "images", 7, size=(32, 16))
    out = tmp_path / "preds"

    def stop(done, total):
        if done >= 3:
            raise Stop

    with pytest.raises(Stop):
        run_images(
            load_runner(path, task="detection"), paths, batch_size=3, out_dir=out, progress=stop
        )
    res = run_images(load_runner(path, task="detection"), paths, batch_size=3, out_dir=out)
    assert res.resumed_batches == 1 and res.computed_batches == 2 and len(res.detections) == 7
    for det in res.detections:
        np.testing.assert_allclose(det.boxes, [[8, 4, 32, 12], [0, 0, 16, 8]])
        assert det.labels.tolist() == [1, 0]


def test_default_workers_follow_the_image_size(tmp_path, monkeypatch):
    from PIL import Image

    from assay.runners import batch

    monkeypatch.setattr(batch, "_cores", lambda: 4)
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    Image.new("RGB", (96, 80)).save(small)
    Image.new("RGB", (200, 150)).save(large)
    assert batch.default_workers([small]) == 2  # one per two cores: ONNX Runtime needs the rest
    assert batch.default_workers([large]) == 4  # decoding is mostly C code: one per core
    assert batch.default_workers([tmp_path / "missing.png"]) == 2
    assert batch.default_workers() == 2
    # the median of a few files spread over the list decides, not the first one alone
    assert batch.typical_pixels([large, small, small, large, large, missing := tmp_path / "x"]) == (
        200 * 150
    )
    assert batch.default_workers([large] + [small] * 9) == 2
    assert batch.typical_pixels([missing]) is None
    monkeypatch.setattr(batch, "_cores", lambda: 1)
    assert batch.default_workers([large]) == 1 and batch.default_workers([small]) == 1


def test_the_result_says_how_many_threads_decoded(model_and_images):
    path, _, _, paths = model_and_images
    runner = load_runner(path)
    assert run_images(runner, paths, batch_size=8, workers=0).workers == 0
    assert run_images(runner, paths, batch_size=8, workers=3).workers == 3


def test_overlapping_runs_put_the_switch_interval_back(model_and_images):
    """Run A starts, run B starts in another thread, A ends while B runs, then B ends: the
    interval stays lowered until B ends and the original is back after both."""
    import threading

    path, _, _, paths = model_and_images
    switch = sys.getswitchinterval()
    b_inside, b_may_end = threading.Event(), threading.Event()

    def b_progress(done, total):
        if done > 0:  # a batch is done: B is inside its run
            b_inside.set()
            assert b_may_end.wait(60)

    b = threading.Thread(
        target=run_images,
        args=(load_runner(path), paths),
        kwargs={"batch_size": 8, "workers": 1, "progress": b_progress},
    )

    def a_progress(done, total):
        if done > 0 and not b.is_alive() and not b_inside.is_set():
            b.start()
            assert b_inside.wait(60)

    run_images(load_runner(path), paths, batch_size=8, workers=1, progress=a_progress)
    during_b = sys.getswitchinterval()
    b_may_end.set()
    b.join(60)
    assert during_b < switch
    assert sys.getswitchinterval() == switch


def test_the_chooser_tries_both_ways_and_keeps_the_faster():
    from assay.runners.batch import (
        EXPLOIT_BATCHES,
        INLINE_MARGIN,
        TRIAL_BATCHES,
        WARMUP_BATCHES,
        _Chooser,
    )

    c = _Chooser()
    first = [c.next() for _ in range(WARMUP_BATCHES + EXPLOIT_BATCHES + TRIAL_BATCHES)]
    assert first == [False] * WARMUP_BATCHES + [True] * EXPLOIT_BATCHES + [False] * TRIAL_BATCHES
    for _ in range(3):
        c.record(True, 5e-4)
    c.record(False, 1e-3)
    assert c.next() is False  # one inline timing back: its trial goes on
    c.record(False, 1e-3)  # inline 1 ms per image, threads 0.5 ms: threads, for twice as long
    block = [c.next() for _ in range(2 * EXPLOIT_BATCHES + TRIAL_BATCHES)]
    assert block == [True] * (2 * EXPLOIT_BATCHES) + [False] * TRIAL_BATCHES
    for _ in range(6):  # inline a little faster, but within the margin: threads still
        c.record(False, 5e-4 / (1 + INLINE_MARGIN / 2))
    block = [c.next() for _ in range(4 * EXPLOIT_BATCHES + TRIAL_BATCHES)]
    assert block == [True] * (4 * EXPLOIT_BATCHES) + [False] * TRIAL_BATCHES
    for _ in range(4):  # the machine changed: inline is now clearly the faster
        c.record(False, 1e-4)
    block = [c.next() for _ in range(EXPLOIT_BATCHES + TRIAL_BATCHES)]
    assert block == [False] * EXPLOIT_BATCHES + [True] * TRIAL_BATCHES


@pytest.mark.parametrize("slow_in", ["main", "pool"])
def test_small_images_go_the_way_measured_faster(model_and_images, monkeypatch, slow_in):
    """By default small images are decoded inline or by a thread, batch by batch, the way this
    run measured faster; either way the scores and progress are those of a plain run."""
    import threading
    import time

    from assay.runners import batch

    path, w, b, paths = model_and_images
    runner = load_runner(path)
    x, _ = load_batch(paths, runner.spec)
    expected = reference_probs(x, w, b)
    monkeypatch.setattr(batch, "_cores", lambda: 4)
    real = batch.load_batch

    def decoding(chunk, spec):
        in_main = threading.current_thread() is threading.main_thread()
        if in_main == (slow_in == "main"):
            time.sleep(0.03)  # decoding is slow only this way: ~10x the other (a 20 x 12 image)
        return real(chunk, spec)

    monkeypatch.setattr(batch, "load_batch", decoding)
    seen = []
    res = run_images(runner, paths, batch_size=1, progress=lambda d, t: seen.append(d))
    np.testing.assert_allclose(res.scores, expected, rtol=1e-5, atol=1e-7)
    assert seen == list(range(24)) and res.workers == 2
    # 23 batches: 2 inline, 12 by the thread, 3 inline (up to 2 more while their timings come
    # back), then the faster way for the rest
    if slow_in == "main":  # the thread faster: it decodes the rest too
        assert 23 - 2 - 3 - 2 <= res.pooled_batches <= 23 - 2 - 3
    else:  # inline faster: the thread decodes its first 12 only
        assert res.pooled_batches == 12
    assert run_images(runner, paths, batch_size=4, workers=2).pooled_batches == 6  # asked for


def test_negative_workers_are_refused(model_and_images):
    path, _, _, paths = model_and_images
    with pytest.raises(ValueError, match="workers"):
        run_images(load_runner(path), paths, workers=-1)


def test_decoding_processes_give_the_inline_scores(model_and_images, tmp_path):
    """With processes=True, enough batches and 2+ cores, processes decode (the first batches
    inline while they start): the same scores and progress as one thread doing it all, a resumed
    run the same again, and a bad image one line naming the file; not by default."""
    from assay.runners import batch

    path, _, _, paths = model_and_images
    runner = load_runner(path)
    inline = run_images(runner, paths, batch_size=2, workers=0)
    if not batch.processes_available():
        pytest.skip("no fork or one core")
    seen = []
    assert not run_images(runner, paths, batch_size=2).processes
    res = run_images(
        runner, paths, batch_size=2, processes=True, progress=lambda d, t: seen.append(d)
    )
    assert res.processes and res.workers >= 1
    np.testing.assert_array_equal(res.scores, inline.scores)
    assert seen == [0, *range(2, 23, 2), 23]

    out = tmp_path / "preds"
    with pytest.raises(Stop):

        def stop_at(done, total):
            if done >= 10:
                raise Stop

        run_images(runner, paths, batch_size=2, out_dir=out, progress=stop_at, processes=True)
    again = run_images(runner, paths, batch_size=2, out_dir=out, processes=True)
    assert again.resumed_batches >= 5
    np.testing.assert_array_equal(again.scores, inline.scores)

    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="broken.jpg"):
        run_images(runner, [*paths[:15], bad, *paths[15:]], batch_size=2, processes=True)
    forced = run_images(runner, paths, batch_size=2, processes=True, workers=2)
    np.testing.assert_array_equal(forced.scores, inline.scores)
    threads = run_images(runner, paths, batch_size=2, workers=1)  # threads, asked for
    assert threads.workers == 1 and not threads.processes
