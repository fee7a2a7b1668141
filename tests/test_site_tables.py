"""Several site tables (covariates and coordinates apart, as HMSC's X and xy) joined as one."""

import json

import numpy as np
import pytest

from cgmvae.data import DataError
from cgmvae.formats import load_two_tables
from cgmvae.formats.site_tables import read_site_tables


def write(path, text):
    path.write_text(text)
    return path


def test_norberg_s_three_matrices_without_names_join_by_row_order(tmp_path):
    """Yt, Xt and St: no header, no id; the coordinates' columns are numbered on."""
    rng = np.random.default_rng(0)
    n = 12
    y = write(tmp_path / "Yt.csv", "\n".join(",".join(map(str, row))
                                             for row in rng.integers(0, 2, (n, 4))) + "\n")
    x_values, s_values = rng.normal(size=(n, 3)).round(3), rng.uniform(40, 50, (n, 2)).round(3)
    x = write(tmp_path / "Xt.csv", "\n".join(",".join(map(str, row)) for row in x_values))
    s = write(tmp_path / "St.csv", "\n".join(",".join(map(str, row)) for row in s_values))
    data = load_two_tables(y, [x, s], None)
    assert data.feature_names == [f"covariate_{k}" for k in range(1, 6)]
    np.testing.assert_allclose(data.features, np.hstack([x_values, s_values]), rtol=1e-6)
    said = " ".join(data.notices)
    assert f"site tables Xt.csv + St.csv joined by row order: {n} sites, 5 columns" in said
    assert "St.csv has no header row" in said and "covariate_4" in said


def test_site_tables_join_on_the_id_in_their_own_orders(tmp_path):
    y = write(tmp_path / "y.csv", "plot,sp1,sp2\nB,1,0\nA,0,1\nC,1,1\n")
    x = write(tmp_path / "x.csv", "plot,ph,veg\nA,5.5,bog\nB,6.5,fen\nC,7.0,bog\n")
    s = write(tmp_path / "xy.csv", "plot,lon,lat\nC,3,30\nA,1,10\nB,2,20\n")
    write(tmp_path / "x.json", json.dumps({"features": ["ph", "veg"], "categorical": ["veg"]}))
    data = load_two_tables(y, [x, s], "plot")
    assert data.sample_ids == ["B", "A", "C"]
    columns = {name: data.features[:, j] for j, name in enumerate(data.feature_names)}
    assert set(columns) == {"ph", "veg=bog", "veg=fen", "lon", "lat"}
    np.testing.assert_allclose([columns["ph"], columns["veg=bog"], columns["lon"],
                                columns["lat"]], [[6.5, 5.5, 7.0], [0, 1, 1], [2, 1, 3],
                                                  [20, 10, 30]])


@pytest.mark.parametrize("x, s, ids, message", [
    ("a,b\n1,2\n3,4\n5,6\n", "c\n7\n8\n", None,
     "joined by row order, but x.csv has 3 rows, s.csv has 2 rows"),
    ("plot,a\nA,1\nB,2\nC,3\n", "plot,a\nA,1\nB,2\nC,3\n", "plot",
     "both have the column a"),
    ("plot,a\nA,1\nB,2\nC,3\n", "plot,b\nA,1\nB,2\nD,3\n", "plot",
     r"1 id\(s\) only in x.csv, not in s.csv: C; 1 id\(s\) only in s.csv, not in x.csv: D"),
    ("plot,a\nA,1\nB,2\nC,3\n", "b\n1\n2\n3\n", "plot", "s.csv has no id column plot"),
    ("site,a\nA,1\nB,2\nC,3\n", "site,b\nA,1\nC,2\nB,3\n", None,
     "both have the id column site, with other values"),
])
def test_site_tables_that_do_not_fit_together_are_refused_naming_the_files(tmp_path, x, s, ids,
                                                                           message):
    x_path, s_path = write(tmp_path / "x.csv", x), write(tmp_path / "s.csv", s)
    with pytest.raises(DataError, match=message):
        read_site_tables([x_path, s_path], ids=[ids] if ids else ())


def test_an_id_named_column_equal_in_both_is_kept_once_and_one_table_is_read_as_before(tmp_path):
    x = write(tmp_path / "x.csv", "site,a\nA,1\nB,2\n")
    s = write(tmp_path / "s.csv", "site,b\nA,5\nB,6\n")
    joined = read_site_tables([x, s])
    assert joined.header == ["site", "a", "b"] and joined.body["b"].tolist() == ["5", "6"]
    third = write(tmp_path / "t.csv", "site,c\nA,7\nB,8\n")
    plain = write(tmp_path / "p.csv", "d\n0\n1\n")
    assert read_site_tables([plain, s, third]).header == ["d", "site", "b", "c"]
    alone = read_site_tables(x)
    assert alone.header == ["site", "a"] and alone.notices == [] and alone.where == "x.csv"


def test_train_and_predict_take_covariates_and_coordinates_as_two_files(tmp_path, capsys):
    """Norberg's layout end to end in the CLI: Yt + Xt + St to train, Xv + Sv to score."""
    import pandas as pd

    from cgmvae.cli import main
    from cgmvae.predictor import TrainedModel

    rng = np.random.default_rng(1)
    n = 60
    coords, covariates = rng.uniform(0, 10, (n, 2)).round(3), rng.normal(size=(n, 3)).round(3)
    species = (rng.random((n, 4)) < 0.4).astype(int)
    species[:, 0] = coords[:, 0] > 5  # a species of the east
    for name, values in (("Yt", species), ("Xt", covariates), ("St", coords),
                         ("Xv", covariates[:10]), ("Sv", coords[:10])):
        pd.DataFrame(values).to_csv(tmp_path / f"{name}.csv", header=False, index=False)
    assert main(["train", "--data", str(tmp_path / "Yt.csv"), "--features",
                 str(tmp_path / "Xt.csv"), str(tmp_path / "St.csv"), "--out",
                 str(tmp_path / "run"), "--epochs", "2", "--embedding-dim", "8",
                 "--device", "cpu"]) == 0
    assert "site tables Xt.csv + St.csv joined by row order" in capsys.readouterr().err
    model = TrainedModel.load(tmp_path / "run" / "model.pt")
    assert model.feature_names == [f"covariate_{k}" for k in range(1, 6)]
    assert main(["predict", "--model", str(tmp_path / "run"), "--input", str(tmp_path / "Xv.csv"),
                 str(tmp_path / "Sv.csv"), "--output", str(tmp_path / "p.csv")]) == 0
    scored = pd.read_csv(tmp_path / "p.csv")
    expected = model.predict_proba(np.hstack([covariates[:10], coords[:10]]).astype(np.float32))
    np.testing.assert_allclose(scored["species_1_probability"], expected[:, 0], atol=1e-4)
    assert main(["predict", "--model", str(tmp_path / "run"), "--input", str(tmp_path / "Xv.csv"),
                 str(tmp_path / "St.csv"), "--output", str(tmp_path / "q.csv")]) == 2
    assert "Xv.csv has 10 rows, St.csv has 60 rows" in capsys.readouterr().err


def test_a_class_coded_covariate_is_named_in_a_note_until_it_is_marked_categorical(tmp_path):
    """Ontario's ontveg (a vegetation type 1-5) in a site table: read as an amount, with a note."""
    rng = np.random.default_rng(2)
    n = 30
    sites = [f"S{k}" for k in range(n)]
    species = write(tmp_path / "y.csv", "site,sp1,sp2\n" + "\n".join(
        f"{s},{a},{b}" for s, (a, b) in zip(sites, rng.integers(0, 2, (n, 2)), strict=True)))
    covariates = write(tmp_path / "x.csv", "site,ontveg,alt\n" + "\n".join(
        f"{s},{v},{a:.1f}" for s, v, a in zip(sites, np.arange(n) % 5 + 1,
                                               rng.normal(300, 40, n), strict=True)))
    data = load_two_tables(species, covariates, "site")
    assert "ontveg" in data.feature_names
    assert ("x.csv: covariate(s) ontveg (5 values, 1 to 5) hold a few whole numbers and are "
            "read as amounts") in " ".join(data.notices)
    marked = load_two_tables(species, covariates, "site", categorical=["ontveg"])
    assert "ontveg=3" in marked.feature_names and "ontveg" not in marked.feature_names
    assert "read as amounts" not in " ".join(marked.notices)
    with pytest.raises(DataError, match=r"categorical column.* soil are not columns of x\.csv"):
        load_two_tables(species, covariates, "site", categorical=["soil"])
