"""Plan-set pages read from several threads at once answer as they do one at a time.

PDFium is not thread-safe, even across documents; the Functions worker runs sync activities on a thread pool
and a plan set is analysed several pages at a time. Without the one PDFium lock (`shared.pdfium`) this
reproduced "Failed to load page" and "Failed to load document" on every run, and can crash the process.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from blueprints.bids import markedset, pages, pdfcheck, vision
from tests.plansets.generator import make_plan_set

THREADS, ROUNDS = 4, 80


@pytest.fixture(scope="module")
def plan_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdfium") / "plans.pdf"
    path.write_bytes(make_plan_set(plan_sheets=6, seed=3).pdf)
    return path


def test_pages_read_from_several_threads_at_once_answer_as_one_at_a_time(plan_set: Path, tmp_path: Path) -> None:
    # given what each page is, read one at a time
    count = pdfcheck.page_count(plan_set, max_pages=100)
    expected = {n: pages.classify(plan_set, n) for n in range(1, count + 1)}
    tile_count = len(vision.tiles(plan_set, 1, dpi=36, tile_px=256))
    answers: list[tuple[int, object]] = []
    errors: list[BaseException] = []
    scratch = tmp_path

    def read(k: int) -> None:
        try:
            for i in range(ROUNDS):
                n = 1 + (i + k) % count
                answers.append((n, pages.classify(plan_set, n)))
                assert pdfcheck.page_count(plan_set, max_pages=100) == count
                if i % 4 == k % 4:
                    assert len(vision.tiles(plan_set, 1, dpi=36, tile_px=256)) == tile_count
                if i % 8 == k % 8:  # the marked set is drawn in a request while an analysis runs
                    marked = scratch / f"marked-{k}-{i}.pdf"
                    markedset.draw(plan_set, [], marked)
                    assert pdfcheck.page_count(marked, max_pages=100) == count
        except BaseException as exc:
            errors.append(exc)

    # when four threads classify, count, render and mark pages at once, as the analysis' activities do
    threads = [threading.Thread(target=read, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then none failed, and every page is what it is when read alone
    assert errors == []
    assert len(answers) == THREADS * ROUNDS
    assert all(kind == expected[n] for n, kind in answers)
