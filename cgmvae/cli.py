"""Command line (`python -m cgmvae COMMAND --help` for each): train or tune a model, evaluate it,
predict from a table, describe or export what it learned, and prepare data (simulate, convert,
ebird, records)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cgmvae.config import MAX_SEED, SELECTION_METRICS, ModelConfig, TrainConfig, check_integer
from cgmvae.config_choices import configs_from_choices
from cgmvae.data import DataError
from cgmvae.variants import VARIANTS

# Only what building the parser needs is imported above: torch, pandas and scikit-learn (about
# 3 s together) load inside the commands, so that `--help` and a mistyped option answer at once.
if TYPE_CHECKING:
    from cgmvae.data import MultiLabelData, Split
    from cgmvae.predictor import TrainedModel

def load_data(args: argparse.Namespace) -> tuple[MultiLabelData, Split | None]:
    """The data set (--data, or --data SPECIES.csv --features SITES.csv joined on --id COLUMN, or
    by row order without --id) and its split: --split file, else the one it came with, else
    seeded 80/10/10; None with --heldout (evaluate: every row is scored)."""
    from cgmvae.datasets import SEEDED_SPLIT, choose_split
    from cgmvae.formats import load_dataset, load_two_tables

    check_integer("--seed", getattr(args, "seed", 0), 0, MAX_SEED)  # whatever the data
    labels = args.labels.split(",") if getattr(args, "labels", None) else None
    ids = args.id.split(",") if getattr(args, "id", None) is not None else None  # "": R's row names
    if getattr(args, "features", None):  # without --id: joined by row order
        if labels or getattr(args, "label_prefix", None):
            raise DataError("with --features, the species are every column of --data but the id "
                            "(or a sidecar's 'labels'): --labels/--label-prefix do not apply")
        data = load_two_tables(args.data, args.features, ids, impute=getattr(args, "impute", None))
    else:
        data = load_dataset(args.data, labels=labels,
                            label_prefix=getattr(args, "label_prefix", None),
                            impute=getattr(args, "impute", None),
                            n_labels=getattr(args, "n_labels", None), ids=ids)
    for notice in data.notices:
        print(f"note: {notice}", file=sys.stderr)
    if getattr(args, "heldout", False):  # every row is scored: no split
        return data, None
    seed = getattr(args, "seed", 0)
    split, how = choose_split(data, args.split, seed=seed)
    if how == SEEDED_SPLIT:
        print(f"note: no --split given: seeded 80/10/10 split (seed {seed})", file=sys.stderr)
    report_absent_labels(data, split)
    report_constant_features(data, split)
    return data, split


def report_absent_labels(data: MultiLabelData, split: Split) -> None:
    counts = data.labels[split.train].sum(0)  # one per label name (MultiLabelData checks)
    absent = [n for n, c in zip(data.label_names, counts, strict=True) if c == 0]
    if absent:
        shown = ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else "")
        print(f"note: {len(absent)} label(s) never occur in the training split and are kept "
              f"(they will rarely be predicted): {shown}", file=sys.stderr)


def report_constant_features(data: MultiLabelData, split: Split) -> None:
    train = data.features[split.train]
    constant = [n for n, column in zip(data.feature_names, train.T, strict=True)
                if (column == column[0]).all()]
    if constant:
        shown = ", ".join(constant[:10]) + (" ..." if len(constant) > 10 else "")
        print(f"note: {len(constant)} feature(s) are constant in the training split and are kept "
              f"(they cannot inform predictions): {shown}", file=sys.stderr)


def metrics_table(blocks: dict[str, dict[str, float]]) -> str:
    """One row per block: the five metrics, then any other (mean_auc); blank where a block lacks
    one or it is None (mean_auc without any label that has both classes)."""
    from cgmvae import metrics

    extra = [n for block in blocks.values() for n in block if n not in metrics.METRICS]
    names = list(metrics.METRICS) + list(dict.fromkeys(extra))
    lines = [f"{'':14}" + "".join(f"{n:>17}" for n in names)]
    for label, block in blocks.items():
        cells = (f"{block[n]:>17.4f}" if block.get(n) is not None else f"{'':>17}" for n in names)
        lines.append(f"{label:14}" + "".join(cells))
    return "\n".join(lines)


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """Defaults, replaced by a --config file's settings, replaced by the options given here."""
    base = None
    if getattr(args, "config", None):
        from cgmvae.tune import read_config

        base = read_config(args.config)
    return configs_from_choices(args.variant, {
        "embedding_dim": ("--embedding-dim", args.embedding_dim),
        "dropout": ("--dropout", args.dropout), "max_epochs": ("--epochs", args.epochs),
        "seed": ("--seed", args.seed), "device": ("--device", args.device),
        "learning_rate": ("--lr", args.lr), "batch_size": ("--batch-size", args.batch_size),
        "patience": ("--patience", args.patience),
        "selection_metric": ("--selection", getattr(args, "selection", None)),
        "selection_window": ("--selection-window", getattr(args, "selection_window", None)),
        "ema_warmup": ("--ema-warmup", True if getattr(args, "ema_warmup", False) else None)},
        base=base)


def cmd_train(args: argparse.Namespace) -> int:
    """Train, evaluate, write model.pt + metrics.json; with --distributed as one of the processes
    torchrun started, of which rank 0 alone prints (but errors) and writes."""
    from cgmvae.run_folder import check_run_target

    model_config, train_config = configs_from_args(args)  # bad options fail before any loading
    check_run_target(Path(args.out), overwrite=args.overwrite)  # and before any training
    if args.stream:
        check_streamable(args)
    if not args.distributed:
        return train_and_report(args, model_config, train_config, context=None)
    from cgmvae.distributed import process_group

    with process_group(train_config.device) as context, quiet(not context.is_main):
        return train_and_report(args, model_config, train_config, context=context)


def check_streamable(args: argparse.Namespace) -> None:
    given = [option for option, value in (("--features", args.features), ("--split", args.split),
                                          ("--impute", args.impute), ("--n-labels", args.n_labels))
             if value is not None]
    if given:
        raise DataError(f"{', '.join(given)} do(es) not apply with --stream: it trains on a "
                        "complete Parquet table and holds out whole row groups for val and test")


@contextlib.contextmanager
def quiet(silenced: bool):
    """Output of the block dropped when `silenced` (ranks other than 0); an error still reaches
    the terminal, as `main` prints it after the block."""
    if not silenced:
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(sink):
        yield


def train_and_report(args: argparse.Namespace, model_config: ModelConfig,
                     train_config: TrainConfig, context) -> int:
    import numpy as np

    from cgmvae.distributed import SINGLE
    from cgmvae.run_folder import writing_run
    from cgmvae.train import resolve_device

    context = context or SINGLE
    device = context.device or resolve_device(train_config.device)
    started = time.perf_counter()
    trained = train_streamed(args, model_config, train_config, context, device) if args.stream \
        else train_in_memory(args, model_config, train_config, context, device)
    if trained is None:
        return 0  # a rank other than 0: rank 0 evaluates and writes
    model, data, split = trained
    train_seconds = time.perf_counter() - started
    rule = train_config.selection_metric + (f", mean of {train_config.selection_window} epochs"
                                            if train_config.selection_window > 1 else "")
    print(f"stopped after {len(model.history)} epochs; kept epoch {model.best_epoch} "
          f"(best validation {rule}), {train_seconds:.1f} s", file=sys.stderr)
    report = evaluation_report(model, data, split)
    report.update(threshold=model.threshold, epochs=len(model.history), best_epoch=model.best_epoch,
                  train_seconds=train_seconds,
                  seconds_per_epoch=float(np.mean([r["seconds"] for r in model.history])),
                  device=str(device), variant=args.variant,
                  selection_metric=train_config.selection_metric,
                  selection_window=train_config.selection_window,
                  processes=context.world_size, streamed=bool(args.stream))
    with writing_run(args.out, overwrite=args.overwrite) as folder:  # all files or none
        model.save(folder / "model.pt")
        (folder / "metrics.json").write_text(json.dumps(report, indent=2))
    print_report(report)
    out = Path(args.out)
    print(f"wrote {out / 'model.pt'} and {out / 'metrics.json'}")
    return 0


def announce(name: str, rows: tuple[int, int, int], n_features: int, n_labels: int, device,
             train_config: TrainConfig, context) -> None:
    processes = f" x {context.world_size} processes" if context.world_size > 1 else ""
    print(f"training on {name}: {rows[0]} train / {rows[1]} val / {rows[2]} test rows, "
          f"{n_features} features, {n_labels} labels, device {device}{processes}; up to "
          f"{train_config.max_epochs} epochs", file=sys.stderr)


def train_in_memory(args, model_config, train_config, context, device):
    """(model, data, split) of a table loaded whole; None on ranks other than 0."""
    from cgmvae.progress import EpochProgress
    from cgmvae.train import fit

    data, split = load_data(args)
    announce(data.name, (split.train.size, split.val.size, split.test.size), data.n_features,
             data.n_labels, device, train_config, context)
    note_config_data(args, data.n_features, data.n_labels)
    with EpochProgress() as progress:
        model = fit(data, split, model_config=model_config, train_config=train_config,
                    callbacks=[progress], context=context)
    return None if model is None else (model, data, split)


def note_config_data(args, n_features: int, n_labels: int) -> None:
    """Say so when --config was tuned on data of another shape (it still applies)."""
    if getattr(args, "config", None):
        from cgmvae.tune import other_data_note, parse_config

        tuned_on = parse_config(Path(args.config).read_text(), args.config)[2].get("data")
        note = other_data_note(tuned_on, n_features, n_labels)
        if note:
            print(f"note: {note}", file=sys.stderr)


def train_streamed(args, model_config, train_config, context, device):
    """(model, held-out data, its split) of a Parquet table streamed by row groups; None on
    ranks other than 0."""
    from cgmvae.progress import EpochProgress
    from cgmvae.streaming import fit_streamed, heldout_data, plan_streamed_table

    table = plan_streamed_table(args.data, labels=args.labels.split(",") if args.labels else None,
                                label_prefix=args.label_prefix,
                                ids=args.id.split(",") if args.id else None, seed=args.seed)
    for notice in table.notices:
        print(f"note: {notice}", file=sys.stderr)
    print(f"note: --stream: {len(table.val)} and {len(table.test)} of the "
          f"{len(table.train) + len(table.val) + len(table.test)} row groups held out for "
          f"validation and test (seed {args.seed})", file=sys.stderr)
    announce(table.path.stem, tuple(table.rows(part) for part in (table.train, table.val,
                                                                   table.test)),
             len(table.feature_names), len(table.label_names), device, train_config, context)
    note_config_data(args, len(table.feature_names), len(table.label_names))
    with EpochProgress() as progress:
        model = fit_streamed(table, model_config=model_config, train_config=train_config,
                             callbacks=[progress], context=context)
    return None if model is None else (model, *heldout_data(table))


def scores(model: TrainedModel, x, y) -> tuple[dict, dict]:
    """(each metric at its own best threshold on these rows plus the threshold-free `mean_auc`,
    mean per-label ROC-AUC: None without a label that has both classes; the five metrics at the
    model's threshold)."""
    import numpy as np

    from cgmvae import metrics

    result = model.evaluate(x, y)
    auc = metrics.mean_label_auc(y, model.predict_proba(x))
    return ({**result["per_metric"], "mean_auc": auc if np.isfinite(auc) else None},
            result["deployed"])


def evaluation_report(model: TrainedModel, data: MultiLabelData, split: Split) -> dict:
    """`val` and `test` at each metric's validation-best threshold, plus their threshold-free
    `mean_auc`; `test_deployed` at the model's single threshold."""
    def rows_scores(rows):
        return scores(model, data.features[rows], data.labels[rows])

    report = {"val": rows_scores(split.val)[0], "test": None, "test_deployed": None}
    if split.test.size:
        test, deployed = rows_scores(split.test)
        report.update(test=test, test_deployed=deployed)
    return report


def print_report(report: dict) -> None:
    blocks = {k: report[k] for k in ("val", "test", "test_deployed") if report.get(k)}
    print(metrics_table(blocks))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from cgmvae.predictor import TrainedModel

    if args.heldout and args.split:
        raise DataError("--heldout scores every row of --data: it takes no --split")
    model = TrainedModel.load(model_path(args.model))
    data, split = load_data(args)
    model.check_compatible(data)
    if split is None:  # --heldout: a survey the model never saw, at its own threshold
        print(f"all {data.n_samples} rows held out, at the model's threshold "
              f"{model.threshold:.2f}", file=sys.stderr)
        per_metric, deployed = scores(model, data.features, data.labels)
        print(metrics_table({"heldout": {**deployed, "mean_auc": per_metric["mean_auc"]}}))
    else:
        print_report(evaluation_report(model, data, split))
    return 0


def model_path(path: str) -> Path:
    path = Path(path)
    return path / "model.pt" if path.is_dir() else path


def cmd_predict(args: argparse.Namespace) -> int:
    from cgmvae.predictor import TrainedModel
    from cgmvae.streaming import predict_in_chunks

    output = Path(args.output)
    if any(output.resolve() == Path(path).resolve() for path in args.input):
        raise DataError(f"--output {args.output} is an --input file: choose another name, so "
                        "that the input is kept")
    model = TrainedModel.load(model_path(args.model))
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        source = args.input[0]
        if len(args.input) > 1:  # site tables apart (covariates, coordinates): joined in memory
            from cgmvae.formats.site_tables import sites_to_score_csv

            joined, joined_notes = sites_to_score_csv(args.input)
            notes += joined_notes
            source = Path(folder) / ("+".join(Path(p).stem for p in args.input) + ".csv")
            source.write_text(joined.getvalue())
        # chunk by chunk (flat memory); a bad value anywhere leaves no output, not even a partial
        rows = predict_in_chunks(model, source, output,
                                 ids=args.id.split(",") if args.id else None, notes=notes)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote predictions for {rows} rows and {len(model.label_names)} labels to {args.output}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from cgmvae.predictor import TrainedModel

    model = TrainedModel.load(model_path(args.model))
    n_params = sum(p.numel() for p in model.network.parameters())
    print(f"data set      {model.dataset_name}")
    print(f"features      {len(model.feature_names)}: {', '.join(model.feature_names[:8])}"
          + (" ..." if len(model.feature_names) > 8 else ""))
    print(f"labels        {len(model.label_names)}: {', '.join(model.label_names[:8])}"
          + (" ..." if len(model.label_names) > 8 else ""))
    print(f"parameters    {n_params:,}")
    print(f"epochs        {len(model.history)} (best {model.best_epoch})")
    if model.stop_note:
        print(f"stopped       {model.stop_note}")
    print(f"threshold     {model.threshold:.3f}")
    print(f"model config  {json.dumps(model.model_config.to_dict())}")
    print(f"train config  {json.dumps(model.train_config.to_dict())}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from cgmvae.simulate import write_checklists

    path = write_checklists(args.out, n_sites=args.sites, seed=args.seed, n_species=args.species,
                            n_covariates=args.covariates)
    print(f"wrote {path} and its sidecar {path.with_suffix('.json')}")
    return 0


def cmd_correlations(args: argparse.Namespace) -> int:
    from cgmvae.associations import square_frame
    from cgmvae.predictor import TrainedModel

    model = TrainedModel.load(model_path(args.model))
    if model.learned_association is None:
        raise ValueError(f"{args.model} was saved before models stored their learned association; "
                         "use `python -m cgmvae associations --model M --data PATH --out DIR`")
    square_frame(model.learned_association, model.label_names).to_csv(args.out)
    print(f"wrote the {len(model.label_names)} x {len(model.label_names)} learned association "
          f"(co-occurrence the model implies across its training sites) to {args.out}")
    return 0


def cmd_associations(args: argparse.Namespace) -> int:
    """Every association layer of one or several models (an ensemble) on their training rows."""
    from cgmvae import associations
    from cgmvae.predictor import TrainedModel

    models = [TrainedModel.load(model_path(path)) for path in args.model]
    data, split = load_data(args)
    for model in models:
        model.check_compatible(data)
    train_x, train_y = data.features[split.train], data.labels[split.train]
    print(f"associations of {len(models)} model(s) over {split.train.size} training rows, "
          f"{data.n_labels} species", file=sys.stderr)
    result = associations.compute_associations(models, train_x, train_y, n_boot=args.bootstrap,
                                               seed=args.seed)
    keep = associations.well_observed(train_y, data.labels[split.test]) if split.test.size else None
    maps = [associations.model_layers(m, train_x)[0] for m in models]
    summary = {
        "data": data.name, "models": list(args.model), "training_rows": int(split.train.size),
        "stability": associations.stability(maps, keep),
        "heldout_agreement": (associations.heldout_agreement(result.learned, train_y,
                                                             data.labels[split.test])
                              if split.test.size else None),
        "supported_fraction": {layer: result.supported_fraction(layer)
                               for layer in associations.LAYERS},
        "pairs": len(data.label_names) * (len(data.label_names) - 1) // 2,
        "supported_pairs": {layer: {"p<0.05": result.supported_count(layer)[0],
                                    "benjamini_hochberg_5%": result.supported_count(
                                        layer, many_pairs=True)[0]}
                            for layer in associations.LAYERS},
        "species_without_covariate_response": result.without_response(),
        "notes": "learned = co-occurrence (phi) the models imply across the training sites; "
                 "residual = correlation of observed minus 5-fold cross-fitted covariate-model "
                 "predictions; cooccurrence_p = Veech (2013) p in the observed direction; "
                 "environmental pairs are supported only between species that cross-fitted "
                 "covariate model predicts (one-sided Mann-Whitney p < 0.05).",
    }
    written = associations.write_associations(result, args.out, summary)
    print(f"wrote {len(written)} files to {args.out}: " + ", ".join(p.name for p in written))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from cgmvae.formats.parquet import ROW_GROUP_ROWS, convert_csv

    if Path(args.output).suffix.lower() != ".parquet":
        raise DataError(f"--output {args.output} must end in .parquet")
    rows = (ROW_GROUP_ROWS if args.row_group_rows is None
            else check_integer("--row-group-rows", args.row_group_rows, 1))
    path = convert_csv(args.input, args.output, row_group_rows=rows)
    print(f"wrote {path}" + (" and its sidecar" if path.with_suffix(".json").is_file() else ""))
    return 0


def cmd_ebird(args: argparse.Namespace) -> int:
    from cgmvae.formats.ebird import write_ebird_table

    started = time.perf_counter()

    def progress(text: str) -> None:
        print(f"{text} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)

    path = write_ebird_table(args.observations, args.sampling, args.out, name=args.name,
                             species_min=args.species_min, file_format=args.format,
                             progress=progress)
    meta = json.loads(path.with_suffix(".json").read_text())
    for notice in filter(None, meta["notes"].split("; ")):
        print(f"note: {notice}", file=sys.stderr)
    print(f"wrote {path} and its sidecar {path.with_suffix('.json')}: {meta['title']}")
    return 0


def cmd_records(args: argparse.Namespace) -> int:
    from cgmvae.formats.records import write_records_table

    path = write_records_table(args.records, args.out, sites=args.site, species=args.species,
                               count=args.count, covariates=args.covariates,
                               species_min=args.species_min, name=args.name)
    meta = json.loads(path.with_suffix(".json").read_text())
    for notice in filter(None, meta["notes"].split("; ")):
        print(f"note: {notice}", file=sys.stderr)
    print(f"wrote {path} and its sidecar {path.with_suffix('.json')}: {meta['title']}; "
          f"covariates: {', '.join(meta['features']) or 'none'}")
    return 0


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True,
                        help="Mulan folder, ARFF file, npy folder, or a CSV, Parquet or Excel "
                             "(.xlsx) table (+ .json sidecar); with --features: the site x "
                             "species table")
    parser.add_argument("--features", nargs="+",
                        help="a site x covariates CSV joined to the --data species table on --id, "
                             "or without --id by row order (tables with no id and no shared "
                             "column, e.g. HMSC's Y and X written without names); several "
                             "(covariates, coordinates) are joined to each other the same way")
    parser.add_argument("--id", help="tables only: the site id column(s), comma-separated "
                                     "(default: the sidecar's 'id')")
    parser.add_argument("--split", help="split JSON {train, val, test} of row indices")
    parser.add_argument("--labels", help="tables only: comma-separated label columns")
    parser.add_argument("--label-prefix", help="tables only: label columns start with this "
                        "prefix")
    parser.add_argument("--impute", choices=["median"],
                        help="fill missing feature values instead of failing")
    parser.add_argument("--n-labels", type=int,
                        help="npy layout only: number of leading label columns")
    parser.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cgmvae", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train", help="train a model, evaluate it, write model.pt + metrics.json")
    add_data_arguments(train)
    train.add_argument("--out", required=True, help="output folder (written whole at the end)")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    train.add_argument("--epochs", type=int, help="maximum epochs (early stopping may end sooner)")
    train.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    train.add_argument("--variant", choices=VARIANTS, default="cgmvae",
                       help="full model, a Table 4 ablation, or the informative-latent model "
                            "(README)")
    train.add_argument("--lr", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--patience", type=int)
    train.add_argument("--embedding-dim", type=int)
    train.add_argument("--dropout", type=float)
    train.add_argument("--config", help="best_config.json from `tune`: its settings replace the "
                                        "defaults, options given here replace the file's "
                                        "(--seed, default 0, always applies)")
    train.add_argument("--selection", choices=SELECTION_METRICS,
                       help=f"validation score that picks the kept epoch (default "
                            f"{TrainConfig.selection_metric}; val_loss: lowest cross-entropy)")
    train.add_argument("--selection-window", type=int,
                       help="select on the mean score of this many trailing epochs (default 1)")
    train.add_argument("--ema-warmup", action="store_true",
                       help="let the weight average follow the first steps (decay min(0.99, "
                            "(1 + n) / (10 + n))); with --selection val_loss, probabilities "
                            "and species maps near the truth on surveys of a few hundred sites "
                            "(README, benchmarks/results/ema_warmup.csv)")
    train.add_argument("--distributed", action="store_true",
                       help="one of the processes `torchrun --nproc_per_node=N -m cgmvae train ... "
                            "--distributed` starts: DistributedDataParallel, gloo on CPUs, NCCL "
                            "on GPUs (one per process); rank 0 validates and writes")
    train.add_argument("--stream", action="store_true",
                       help="Parquet --data only: read training batches from disk a row group at "
                            "a time (tables bigger than memory); 10%% of the row groups are held "
                            "out for validation, 10%% for test")
    train.set_defaults(run=cmd_train)
    evaluate = commands.add_parser("evaluate", help="evaluate a saved model on a data set")
    add_data_arguments(evaluate)
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--heldout", action="store_true",
                          help="score every row of --data (a survey kept out of training, e.g. "
                               "Norberg's Yv/Xv) at the model's own threshold, instead of "
                               "splitting it into validation and test rows")
    evaluate.set_defaults(run=cmd_evaluate)
    predict = commands.add_parser(
        "predict", help="predict labels for a CSV, Parquet or Excel table of features, chunk by "
                        "chunk")
    predict.add_argument("--model", required=True)
    # --data and --out as in train: a user who trained with them tries them here first
    predict.add_argument("--input", "--data", required=True, nargs="+",
                         help="the features, CSV, Parquet or Excel (.xlsx): the model's "
                              "feature columns, matched by name (other columns are ignored); "
                              "several tables (covariates, coordinates) are joined on the "
                              "id-named columns they all have, else by row order")
    predict.add_argument("--output", "--out", required=True,
                         help="the predictions, .parquet or CSV (not the input)")
    predict.add_argument("--id",
                         help="id column(s) of the input to keep, comma-separated (default: the "
                              "sidecar's 'id', else columns named like an id)")
    predict.set_defaults(run=cmd_predict)
    info = commands.add_parser("info", help="describe a saved model")
    info.add_argument("--model", required=True)
    info.set_defaults(run=cmd_info)
    simulate = commands.add_parser(
        "simulate", help="write the simulated eBird-style checklist data")
    simulate.add_argument("--out", required=True,
                          help="a folder (for sim_birds.csv) or the table's path, .csv or .parquet")
    simulate.add_argument("--sites", type=int, default=4000,
                          help="number of sites (the app's built-in set has 4000); written in "
                               "blocks, so millions are fine")
    simulate.add_argument("--species", type=int,
                          help="number of species (default: the 42 named ones; more adds "
                               "'Species 043'...)")
    simulate.add_argument("--covariates", type=int,
                          help="number of covariates (default 7; more adds standard-normal ones)")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.set_defaults(run=cmd_simulate)
    correlations = commands.add_parser(
        "correlations", help="export the learned association CSV (stored in the model)")
    correlations.add_argument("--model", required=True)
    correlations.add_argument("--out", required=True)
    correlations.set_defaults(run=cmd_correlations)
    convert = commands.add_parser(
        "convert", help="write a CSV as Parquet, chunk by chunk (its sidecar copied): loads and "
                        "streams faster")
    convert.add_argument("--input", "--data", required=True,
                         help="the CSV (, ; or tab separated)")
    convert.add_argument("--output", "--out", required=True, help="the Parquet file to write")
    convert.add_argument("--row-group-rows", type=int,
                         help="rows per row group, the unit `train --stream` shuffles and holds "
                              "out (default 65,536; --stream needs at least 3 groups)")
    convert.set_defaults(run=cmd_convert)
    ebird = commands.add_parser(
        "ebird", help="zero-fill an eBird Basic Dataset into a checklist x species table + "
                      "sidecar, reading the files in chunks (a state's EBD fits in memory)")
    ebird.add_argument("--observations", required=True,
                       help="the EBD file (tab-separated, one row per species per checklist)")
    ebird.add_argument("--sampling", required=True,
                       help="its sampling-event file (one row per checklist)")
    ebird.add_argument("--out", required=True,
                       help="output folder for <name>.csv (or .parquet) and <name>.json")
    ebird.add_argument("--format", choices=["csv", "parquet"], default="csv",
                       help="table format (default csv; parquet is smaller, loads faster and "
                            "streams with train --stream)")
    ebird.add_argument("--name", default="ebird", help="file name of the table (default: ebird)")
    ebird.add_argument("--species-min", type=int, default=1,
                       help="keep species seen on at least N checklists")
    ebird.set_defaults(run=cmd_ebird)
    records = commands.add_parser(
        "records", help="zero-fill occurrence records (one row per species found at a site: "
                        "captures, point counts, GBIF/Darwin Core) into a site x species table + "
                        "sidecar",
        description="Every site with a record is taken as surveyed for every species: a species "
                    "with no record there is absent (0), as R's auk zero-fills complete eBird "
                    "checklists. Covariates: by default the columns with one value per site.")
    records.add_argument("--records", required=True,
                         help="the records table (CSV separated by , ; or tabs, or Parquet)")
    records.add_argument("--site", required=True, nargs="+",
                         help="the column(s) that together name a site or visit, e.g. plot_id "
                              "year month (then the id is a new `site` column and year, month "
                              "are covariates)")
    records.add_argument("--species", required=True, help="the column naming the species")
    records.add_argument("--count", help="optional count column: > 0 or X is presence, 0 or "
                                         "'absent' a recorded absence")
    records.add_argument("--covariates", nargs="*",
                         help="site covariates (default: every column with one value per site, "
                              "except id-like names and text with a value per site)")
    records.add_argument("--species-min", type=int, default=1,
                         help="keep species present at N sites or more")
    records.add_argument("--out", required=True, help="output folder for <name>.csv and .json")
    records.add_argument("--name", default="sites", help="file name of the table (default: sites)")
    records.set_defaults(run=cmd_records)
    associations = commands.add_parser(
        "associations", help="species associations: learned, environmental, residual and "
                             "co-occurrence, with spread, significance and held-out agreement")
    add_data_arguments(associations)
    associations.add_argument("--model", required=True, action="append",
                              help="a trained model; repeat for an ensemble (seeds)")
    associations.add_argument("--out", required=True, help="output folder")
    associations.add_argument("--bootstrap", type=int, default=50,
                              help="site bootstrap draws for the sd of each layer")
    associations.set_defaults(run=cmd_associations)
    from cgmvae import tune

    tuning = commands.add_parser("tune", help="search learning rate, dropout, E and KL weight "
                                              "with Optuna on validation; writes best_config.json")
    add_data_arguments(tuning)
    tune.add_tune_arguments(tuning)
    tuning.set_defaults(run=lambda args: tune.cmd_tune(args, load_data))
    return parser


# Library messages name Python arguments; on the command line, say the options instead.
_CLI_WORDING = [("give labels=[...] or label_prefix=...", "give --labels or --label-prefix"),
                ("load with impute='median'", "give --impute median")]


def cli_message(err: Exception) -> str:
    message = str(err)
    for python, option in _CLI_WORDING:
        message = message.replace(python, option)
    return message


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as err:  # DataError and CheckpointError are ValueErrors
        print(f"error: {cli_message(err)}", file=sys.stderr)
        return 2
