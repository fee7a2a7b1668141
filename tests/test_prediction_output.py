"""Predictions an ecologist can use: ids kept, richness columns, safe output; two-table training."""

import json

import numpy as np
import pandas as pd
import pytest
from toy import toy_data, toy_split

from cgmvae.cli import main
from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.train import fit

TINY = ModelConfig(embedding_dim=16, latent_dim=4, feature_hidden=(16,), label_hidden=(16,),
                   decoder_hidden=(16,))


@pytest.fixture(scope="module")
def model():
    data = toy_data(120)
    return fit(data, toy_split(data), model_config=TINY,
               train_config=TrainConfig(max_epochs=2, device="cpu"))


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    return model.save(tmp_path_factory.mktemp("model") / "model.pt")


def sites_csv(folder, ids, separator=",", sidecar=None):
    """Toy features for len(ids) sites with a `site` column, written as text (ids verbatim)."""
    features = toy_data(len(ids), seed=3).features
    lines = [separator.join(["site"] + [f"f{i}" for i in range(6)])]
    lines += [separator.join([site] + [f"{v:.3f}" for v in row])
              for site, row in zip(ids, features, strict=True)]
    path = folder / "new_sites.csv"
    path.write_text("\n".join(lines) + "\n")
    if sidecar:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def test_prediction_frame_puts_ids_first_and_richness_last(model):
    features = toy_data(5).features
    frame = model.prediction_frame(features, ids=pd.Series(list("abcde"), name="site"))
    names = model.label_names
    assert list(frame.columns) == (["site"] + [f"{n}_probability" for n in names]
                                   + [f"{n}_predicted" for n in names]
                                   + ["richness_expected", "richness_predicted",
                                      "covariates_outside_training", "covariate_novelty"])
    proba = model.predict_proba(features)
    np.testing.assert_allclose(frame["richness_expected"], proba.sum(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(frame["richness_predicted"],
                                  (proba >= model.threshold).sum(axis=1))
    assert frame["site"].tolist() == list("abcde")


def test_prediction_frame_takes_a_list_or_a_frame_of_ids(model):
    features = toy_data(2).features
    assert model.prediction_frame(features, ids=["x", "y"])["id"].tolist() == ["x", "y"]
    two = pd.DataFrame({"plot": ["p1", "p2"], "year": ["2020", "2021"]}, index=[7, 9])
    frame = model.prediction_frame(features, ids=two)
    assert list(frame.columns[:2]) == ["plot", "year"]
    assert frame["year"].tolist() == ["2020", "2021"]
    with pytest.raises(ValueError, match="3 ids for 2 rows"):
        model.prediction_frame(features, ids=["a", "b", "c"])


def test_predict_keeps_the_site_ids_verbatim(model_file, tmp_path):
    ids = ["007", "Lac de Joux, north shore " + "x" * 80, "S3"]
    path = tmp_path / "in.csv"
    frame = pd.read_csv(sites_csv(tmp_path, ["a", "b", "c"]))
    frame["site"] = ids
    frame.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(model_file), "--input", str(path),
                 "--output", str(out)]) == 0
    result = pd.read_csv(out, dtype={"site": str})
    assert result["site"].tolist() == ids and result.columns[0] == "site"
    assert "richness_expected" in result and "richness_predicted" in result


def test_predict_id_comes_from_the_option_or_the_sidecar(model_file, tmp_path):
    path = sites_csv(tmp_path, ["a", "b"], separator=";", sidecar={"id": "f0"})
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(model_file), "--input", str(path),
                 "--output", str(out)]) == 0
    assert pd.read_csv(out).columns[0] == "f0"  # the sidecar's id, not the `site` column
    assert main(["predict", "--model", str(model_file), "--input", str(path), "--output", str(out),
                 "--id", "site,f1"]) == 0
    assert list(pd.read_csv(out).columns[:2]) == ["site", "f1"]


def test_predict_refuses_to_overwrite_its_input(model_file, tmp_path, capsys):
    path = sites_csv(tmp_path, ["a", "b"])
    before = path.read_text()
    assert main(["predict", "--model", str(model_file), "--input", str(path),
                 "--output", str(tmp_path / "." / path.name)]) == 2
    assert "is an --input file" in capsys.readouterr().err and path.read_text() == before


def test_predict_names_a_missing_id_column(model_file, tmp_path, capsys):
    path = sites_csv(tmp_path, ["a"])
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(model_file), "--input", str(path), "--output", str(out),
                 "--id", "plot"]) == 2
    assert "new_sites.csv has no id column plot" in capsys.readouterr().err and not out.exists()


def test_train_and_evaluate_on_a_species_and_a_covariate_table(tmp_path, capsys):
    data = toy_data(60)
    ids = [f"S{i:03d}" for i in range(60)]
    species = pd.DataFrame(data.labels.astype(int), columns=data.label_names)
    species.insert(0, "site", ids)
    covariates = pd.DataFrame(data.features, columns=data.feature_names).round(4)
    covariates.insert(0, "site", ids)
    species.to_csv(tmp_path / "species.csv", index=False)
    covariates.iloc[::-1].to_csv(tmp_path / "sites.csv", sep=";", decimal=",", index=False)
    tables = ["--data", str(tmp_path / "species.csv"), "--features", str(tmp_path / "sites.csv"),
              "--id", "site"]
    assert main(["train", *tables, "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--embedding-dim", "8", "--device", "cpu"]) == 0
    assert "joined species.csv and sites.csv on site: 60 sites" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(tmp_path / "run"), *tables]) == 0
    assert main(["train", *tables[:4], "--out", str(tmp_path / "x")]) == 2
    assert "share the column(s) site: name the id column" in capsys.readouterr().err


def test_sites_outside_the_training_ranges_are_counted_and_named(model, model_file, tmp_path,
                                                                 capsys):
    """A site beyond the covariates of the training rows is predicted, flagged per row, and
    named with its values against the training range (whole table, chunks, CLI); the ranges
    survive the checkpoint."""
    from cgmvae.formats.model_input import predict_csv
    from cgmvae.predictor import TrainedModel

    loaded = TrainedModel.load(model_file)
    np.testing.assert_array_equal(loaded.feature_max, model.feature_max)
    features = np.clip(toy_data(4, seed=3).features, model.feature_min, model.feature_max)
    features[1, 0] = model.feature_max[0] + 5.0
    features[3, [0, 2]] = model.feature_min[[0, 2]] - 1.0
    frame = model.prediction_frame(features)
    assert frame["covariates_outside_training"].tolist() == [0, 1, 0, 2]
    note = model.extrapolation_note(features)
    assert note.startswith("2 of 4 sites lie outside the covariate range of the training rows")
    assert f"f0 {model.feature_min[0] - 1:g} to {model.feature_max[0] + 5:g} (training " in note
    assert model.extrapolation_note(features[[0, 2]]) is None
    path = tmp_path / "far.csv"
    pd.DataFrame(features, columns=[f"f{i}" for i in range(6)]).to_csv(path, index=False)
    assert predict_csv(model, path).attrs["extrapolation"] == note
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(model_file), "--input", str(path),
                 "--output", str(out)]) == 0
    assert "note: 2 of 4 rows lie outside the covariate range" in capsys.readouterr().err
    assert pd.read_csv(out)["covariates_outside_training"].tolist() == [0, 1, 0, 2]


def test_a_model_saved_before_ranges_were_kept_predicts_without_the_column(model):
    from dataclasses import replace

    older = replace(model, feature_min=None, feature_max=None, feature_novelty_metric=None)
    frame = older.prediction_frame(toy_data(3).features)
    assert "covariates_outside_training" not in frame and "covariate_novelty" not in frame
    assert older.extrapolation_note(toy_data(3).features * 100) is None


def test_train_joins_r_s_write_csv_tables_on_their_unnamed_row_names(tmp_path, capsys):
    data = toy_data(40)
    rows = [str(k) for k in range(1, 41)]
    species = pd.DataFrame(data.labels.astype(int), columns=data.label_names, index=rows)
    covariates = pd.DataFrame(data.features, columns=data.feature_names, index=rows).round(4)
    species.to_csv(tmp_path / "Y.csv")  # as R's write.csv: row names under an empty name
    covariates.iloc[::-1].to_csv(tmp_path / "X.csv")
    tables = ["--data", str(tmp_path / "Y.csv"), "--features", str(tmp_path / "X.csv")]
    assert main(["train", *tables, "--id", "", "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--embedding-dim", "8", "--device", "cpu"]) == 0
    assert "on (unnamed: R's row names): 40 sites" in capsys.readouterr().err
    assert main(["train", *tables, "--out", str(tmp_path / "x")]) == 2  # rows in other orders
    assert "share the column(s) (unnamed: R's row names)" in capsys.readouterr().err


def test_evaluate_heldout_scores_every_row_at_the_model_s_threshold(tmp_path, capsys):
    from cgmvae.predictor import TrainedModel

    data = toy_data(80)
    frame = pd.DataFrame(data.features, columns=data.feature_names).round(4)
    for k, name in enumerate(data.label_names):
        frame[name] = data.labels[:, k].astype(int)
    frame.iloc[:60].to_csv(tmp_path / "survey.csv", index=False)
    frame.iloc[60:].to_csv(tmp_path / "next_year.csv", index=False)
    labels = ",".join(data.label_names)
    assert main(["train", "--data", str(tmp_path / "survey.csv"), "--labels", labels, "--out",
                 str(tmp_path / "run"), "--epochs", "2", "--embedding-dim", "8",
                 "--device", "cpu"]) == 0
    capsys.readouterr()
    later = ["evaluate", "--model", str(tmp_path / "run"), "--data",
             str(tmp_path / "next_year.csv"), "--labels", labels]
    assert main([*later, "--heldout"]) == 0
    out, err = capsys.readouterr()
    model = TrainedModel.load(tmp_path / "run" / "model.pt")
    assert f"all 20 rows held out, at the model's threshold {model.threshold:.2f}" in err
    assert "seeded 80/10/10" not in err and out.splitlines()[1].startswith("heldout")
    expected = model.evaluate(data.features[60:].round(4), data.labels[60:])["deployed"]
    shown = dict(zip(out.splitlines()[0].split(), out.splitlines()[1].split()[1:], strict=False))
    assert float(shown["micro_f1"]) == pytest.approx(expected["micro_f1"], abs=2e-4)
    (tmp_path / "split.json").write_text('{"train": [], "val": [0], "test": [1]}')
    assert main([*later, "--heldout", "--split", str(tmp_path / "split.json")]) == 2
    assert "--heldout scores every row of --data: it takes no --split" in capsys.readouterr().err
