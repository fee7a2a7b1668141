"""benchmarks/scale.py end to end on a tiny table: every step writes its row with its numbers."""

import pandas as pd
import pytest

from benchmarks import scale


@pytest.mark.slow
def test_every_scale_step_writes_a_row_with_time_and_peak_memory(tmp_path):
    out = tmp_path / "scale.csv"
    scale.main(["--sites", "600", "--small-sites", "300", "--species", "44", "--covariates", "8",
                "--work", str(tmp_path / "work"), "--out", str(out)])
    rows = pd.read_csv(out)
    assert list(rows.columns) == list(scale.COLUMNS)
    assert rows["step"].tolist() == [step for step, *_ in scale.steps(_args(tmp_path))]
    assert (rows["seconds"] > 0).all() and (rows["peak_rss_mb"] >= rows["start_rss_mb"]).all()
    loads = rows[rows["step"].str.startswith(("load", "predict"))]
    assert set(loads["n_rows"]) == {600, 300} and (loads["rows_per_second"] > 0).all()


def _args(tmp_path):
    return scale.argparse.Namespace(sites=600, small_sites=300, species=44, covariates=8,
                                    work=str(tmp_path / "work"))
