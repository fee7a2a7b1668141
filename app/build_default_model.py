"""Train the app's built-in model on the simulated checklists: `python app/build_default_model.py`.

Writes assets/sim_birds.pt (the app opens on it without training) and prints the test metrics
and how well clustering the label-embedding similarities recovers the simulated guilds.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from cgmvae.config import ModelConfig, TrainConfig
from cgmvae.datasets import BUILTIN_SEED, builtin_data
from cgmvae.explore import cluster_labels, group_recovery, suggest_n_groups
from cgmvae.simulate import DEFAULT_NAME, species_groups
from cgmvae.train import fit
from cgmvae.variants import apply_variant

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEFAULT_CHECKPOINT = ASSETS / f"{DEFAULT_NAME}.pt"
# Smaller than the paper's sizes (E=512): 7 features and 42 labels need no more, and the
# shipped checkpoint stays ~1 MB. L2-normalised feature embeddings (authors' code), pinned:
# measured on this data with the default decoder input [x, z]: guild ARI 1.00 vs 0.86 unnormalised,
# test micro-F1 0.583 vs 0.585.
# The informative-latent variant (decoder sees z alone, KL weight 0.03), so that the Label
# Gaussians and Latent space pages show a real latent space: on validation, 3 training seeds,
# micro-F1 0.559-0.566 against 0.583 with [x, z] (which collapses), macro-F1 0.566-0.570
# against 0.562, guild ARI 1.00 either way.
MODEL_CONFIG, TRAIN_CONFIG = apply_variant(
    "cgmvae-informative-latent",
    ModelConfig(embedding_dim=128, latent_dim=32, feature_hidden=(128, 256, 128),
                label_hidden=(256, 128), decoder_hidden=(256, 256), dropout=0.3,
                normalize_feature_embedding=True),
    # selection by validation micro-F1: the rule the shipped checkpoint was trained with
    TrainConfig(max_epochs=60, patience=15, seed=BUILTIN_SEED, device="auto",
                selection_metric="micro_f1"))


def learned_guild_recovery(model) -> dict[str, float]:
    """ARI between the true guilds and the app's default clustering of the headline (learned)
    association, cut at the suggested number of groups: over the non-generalist species, and
    over all species with the generalists as one more group."""
    association = model.learned_association
    n_groups = suggest_n_groups(association)
    groups = cluster_labels(association, n_groups).groups
    truth = [species_groups()[name] for name in model.label_names]
    return {"groups": n_groups,
            "ari_guild_species": group_recovery(groups, truth, ignore="generalist"),
            "ari_all_species": group_recovery(groups, truth, ignore=None)}


def main(out: Path = DEFAULT_CHECKPOINT, max_epochs: int | None = None) -> int:
    data, split = builtin_data()  # the app recreates them with the same function
    config = TRAIN_CONFIG if max_epochs is None else replace(TRAIN_CONFIG, max_epochs=max_epochs)
    model = fit(data, split, model_config=MODEL_CONFIG, train_config=config,
                callbacks=[lambda r: print(f"epoch {r['epoch']:3d}  loss {r['train_loss']:.3f}  "
                                           f"val micro-F1 {r['val_micro_f1']:.4f}", flush=True)])
    model.save(out)
    test = model.evaluate(data.features[split.test], data.labels[split.test])["per_metric"]
    print("test:", {k: round(v, 4) for k, v in test.items()})
    print("guild recovery:", {k: round(v, 3) for k, v in learned_guild_recovery(model).items()})
    print("latent spread:", {k: round(v, 3) for k, v in model.latent_spread(data.features).items()})
    print(f"wrote {out} ({out.stat().st_size / 2**20:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CHECKPOINT))
