"""The latency-over-time PNG: a real image, with or without points, and no figure left open."""

import random
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from loadtest.reporting.plot import draw

PNG = b"\x89PNG\r\n\x1a\n"


def points(n: int, median_s: float, rng: random.Random) -> list[tuple[float, float]]:
    return [(i / 100, rng.lognormvariate(0, 0.5) * median_s) for i in range(n)]


def test_three_series_a_floor_and_a_bound(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "out" / "latency.png"
    draw(path, "press benchmark", {"press → 202": points(500, 0.004, rng),
                                   "press → board": points(500, 0.008, rng),
                                   "press → alert": points(300, 0.050, rng)},
         floors={"raw publish": 0.0008}, bounds={"board aim": 0.020})
    data = path.read_bytes()
    assert data.startswith(PNG)
    assert len(data) > 10_000
    assert data[12:16] == b"IHDR"  # the first chunk: width and height, big-endian
    assert (int.from_bytes(data[16:20]), int.from_bytes(data[20:24])) == (1400, 800)
    assert plt.get_fignums() == []


@pytest.mark.parametrize("series", [{}, {"nothing": []}, {"one": [(0.0, 0.002)]},
                                    {"zero": [(0.5, 0.0)], "empty": []}])
def test_sparse_series_still_draw(tmp_path: Path,
                                  series: dict[str, list[tuple[float, float]]]) -> None:
    path = tmp_path / "sparse.png"
    draw(path, "sparse", series, floors={"floor": 0.001} if series else None)
    assert path.read_bytes().startswith(PNG)
    assert plt.get_fignums() == []


def test_many_runs_leave_no_figure_open(tmp_path: Path) -> None:
    rng = random.Random(1)
    for i in range(5):
        draw(tmp_path / f"{i}.png", str(i), {"a": points(50, 0.01, rng)})
    assert plt.get_fignums() == []
