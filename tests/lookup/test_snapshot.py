"""The release snapshot's distances, against their definition on the demo."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text

from geogrid.lookup import snapshot


@pytest.fixture(scope="module")
def snap(demo_engine: Engine) -> snapshot.Snapshot:
    with demo_engine.connect() as conn:
        release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar_one()
        return snapshot.build(conn, release)


def test_distance_to_the_nearest_other_grid_is_its_definition(snap: snapshot.Snapshot) -> None:
    rng = np.random.default_rng(4)
    b = snap.index.bounds
    x = rng.uniform(b[:, 0].min(), b[:, 2].max(), 3_000)
    y = rng.uniform(b[:, 1].min(), b[:, 3].max(), 3_000)
    grid, _ = snap.index.locate_many(x, y)
    seen = {True: 0, False: 0}
    everyone = np.arange(len(snap.grids))
    for i in np.flatnonzero(grid >= 0).tolist():
        g = int(grid[i])
        point = snap.metric_point(float(x[i]), float(y[i]))
        others = snap.metric_grids_array[everyone != g]
        expected = float(shapely.distance(point, others).min())
        assert snap.distance_to_other_grid(point, g) == pytest.approx(expected, abs=1e-6)
        seen[bool(snap.index.enclosed[g])] += 1
    assert seen[True] > 100 and seen[False] > 100  # both ways of answering were asked
