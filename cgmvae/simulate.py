"""Simulated eBird-style checklists: sites with habitat covariates and bird species in habitat guilds.

The built-in demo data set of the app. Each site gets land-cover fractions, elevation, month and
observer effort; each habitat guild (water, forest, residential) responds to its habitat
fraction, so guild members co-occur because they share a habitat (the environmental part, paper
Fig. 3). Generalists depend on season and effort only. On top of that, a few small groups of
species drawn across guilds share an unobserved site factor (`residual_groups`): they co-occur
beyond what any covariate explains (the residual part, the "residual correlation" of joint species
distribution models). Both truths are written to the sidecar.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import MultiLabelData

DEFAULT_NAME = "sim_birds"
DEFAULT_SITES = 4000

GUILDS = {
    "water": (
        "Great Black-backed Gull", "Northern Rough-winged Swallow", "Great Blue Heron",
        "Ring-billed Gull", "Herring Gull", "Double-crested Cormorant", "Mallard", "Canada Goose",
        "Belted Kingfisher", "Osprey", "Spotted Sandpiper", "Tree Swallow",
    ),
    "forest": (
        "Tufted Titmouse", "Northern Flicker", "Northern Mockingbird", "Cedar Waxwing",
        "Red-eyed Vireo", "Ovenbird", "Wood Thrush", "Pileated Woodpecker", "Scarlet Tanager",
        "White-breasted Nuthatch", "Hairy Woodpecker", "Black-capped Chickadee",
    ),
    "residential": (
        "Mourning Dove", "House Sparrow", "European Starling", "Rock Pigeon", "House Finch",
        "Chimney Swift", "Common Grackle", "Northern Cardinal", "House Wren", "Chipping Sparrow",
    ),
    "generalist": (
        "American Crow", "Blue Jay", "Red-tailed Hawk", "Song Sparrow", "Turkey Vulture",
        "Red-winged Blackbird", "American Robin", "American Goldfinch",
    ),
}
# Breed here, winter in the south: rarer from October to April (a mild effect, so that the
# habitat guilds stay the main structure, as in the paper's eBird data).
SUMMER_VISITORS = frozenset({
    "Northern Rough-winged Swallow", "Osprey", "Red-eyed Vireo", "Wood Thrush", "Chimney Swift",
    "House Wren", "Turkey Vulture",
})
WINTER_PRESENCE = 0.35  # a summer visitor's chance to be around in mid-winter, relative to June
FEATURES = ("open_water", "forest", "developed", "farmland", "elevation_m", "month", "effort_hours")
HABITAT_OF_GUILD = {"water": "open_water", "forest": "forest", "residential": "developed"}

# More checklists in spring migration and summer, as on eBird.
_MONTH_WEIGHTS = np.array([5, 5, 6, 8, 12, 11, 10, 9, 9, 8, 6, 5], dtype=float)
_MONTH_WEIGHTS /= _MONTH_WEIGHTS.sum()
# Species traits come from this fixed seed, so every `seed` samples new sites of the same "world".
_TRAIT_SEED = 20220717
# sd of unobserved site suitability shared by a whole guild: 0, so that guilds are purely
# environmental and every association beyond the covariates is a planted residual group
GUILD_NOISE_SD = 0.0
RESIDUAL_GROUP_SIZES = (2, 2, 2, 3, 3)  # species sharing one hidden site factor, across guilds
RESIDUAL_LOADING = 1.6  # logit change per sd of the hidden factor


def species_groups() -> dict[str, str]:
    """Every species name mapped to its guild ("generalist" for generalists), in column order."""
    return {species: guild for guild, members in GUILDS.items() for species in members}


def simulate_sites(n_sites: int, rng: np.random.Generator) -> pd.DataFrame:
    """Site covariates: land-cover fractions (sum to 1), elevation (m), month (1-12), effort (h)."""
    # alpha < 1: most sites are dominated by one or two land covers, as in real landscapes
    cover = rng.dirichlet([0.5, 0.7, 0.5, 0.7], size=n_sites)
    lowland = 0.6 * cover[:, 0] + 0.3 * cover[:, 2]  # water and towns lie low
    elevation = rng.gamma(2.0, 180.0, size=n_sites) * (1.2 - lowland) + 5.0
    month = rng.choice(np.arange(1, 13), size=n_sites, p=_MONTH_WEIGHTS)
    effort = np.clip(rng.gamma(2.0, 0.6, size=n_sites), 0.1, 6.0)
    columns = np.column_stack([cover, elevation.round(), month, effort.round(2)])
    return pd.DataFrame(columns, columns=list(FEATURES))



def guild_suitability(sites: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per guild, a latent site suitability on the logit scale: habitat signal + shared noise."""
    suitability = {}
    for guild, habitat in HABITAT_OF_GUILD.items():
        signal = 6.0 * sites[habitat].to_numpy() - 2.0
        suitability[guild] = signal + rng.normal(0.0, GUILD_NOISE_SD, size=len(sites))
    suitability["generalist"] = np.zeros(len(sites))
    return suitability


def residual_groups() -> list[list[str]]:
    """Small groups of species from different guilds that share a hidden site factor (fixed)."""
    rng = np.random.default_rng(_TRAIT_SEED + 1)
    by_guild = {guild: list(members) for guild, members in GUILDS.items()}
    for members in by_guild.values():
        rng.shuffle(members)
    groups = []
    for size in RESIDUAL_GROUP_SIZES:
        guilds = rng.choice(list(by_guild), size=size, replace=False)
        groups.append([by_guild[g].pop() for g in guilds])
    return groups


def residual_pairs() -> list[list[str]]:
    """Every pair of species within a residual group (the planted residual associations)."""
    return [[a, b] for group in residual_groups() for i, a in enumerate(group) for b in group[i + 1:]]


def residual_signal(n_sites: int, rng: np.random.Generator) -> np.ndarray:
    """(N, L) logit shift: each residual group's members share one hidden N(0, 1) site factor."""
    names = list(species_groups())
    shift = np.zeros((n_sites, len(names)))
    for group in residual_groups():
        factor = rng.normal(0.0, 1.0, size=n_sites)
        for species in group:
            shift[:, names.index(species)] = RESIDUAL_LOADING * factor
    return shift


def species_traits() -> pd.DataFrame:
    """One row per species: guild, intercept, guild slope, elevation slope, summer visitor."""
    rng = np.random.default_rng(_TRAIT_SEED)
    groups = species_groups()
    names = list(groups)
    n = len(names)
    is_generalist = np.array([groups[s] == "generalist" for s in names])
    return pd.DataFrame({
        "guild": [groups[s] for s in names],
        "intercept": np.where(is_generalist, rng.uniform(-1.2, 0.3, n), rng.uniform(-1.6, -0.4, n)),
        "guild_slope": np.where(is_generalist, 0.0, rng.uniform(0.9, 1.5, n)),
        "elevation_slope": rng.normal(0.0, 0.25, n),  # per 500 m
        "summer_visitor": [s in SUMMER_VISITORS for s in names],
    }, index=names)


def occurrence_probability(sites: pd.DataFrame, suitability: dict[str, np.ndarray],
                           residual: np.ndarray | None = None) -> np.ndarray:
    """(N, L) probability of recording each species on each checklist (`residual`: a hidden
    (N, L) logit shift, see `residual_signal`)."""
    traits = species_traits()
    guild_signal = np.column_stack([suitability[g] for g in traits["guild"]])  # (N, L)
    elevation = (sites["elevation_m"].to_numpy()[:, None] - 300.0) / 500.0
    effort = 0.5 * np.log(sites["effort_hours"].to_numpy()[:, None])  # longer lists find more
    logit = (traits["intercept"].to_numpy() + traits["guild_slope"].to_numpy() * guild_signal
             + traits["elevation_slope"].to_numpy() * elevation + effort)
    if residual is not None:
        logit = logit + residual
    return season_presence(sites["month"].to_numpy(), traits) / (1.0 + np.exp(-logit))


def season_presence(month: np.ndarray, traits: pd.DataFrame) -> np.ndarray:
    """(N, L) chance that a species is in the region at all that month: summer visitors leave."""
    in_season = np.exp(-(((month[:, None] - 6.5) / 2.2) ** 2))  # 1 in June/July, ~0 in winter
    visitor = traits["summer_visitor"].to_numpy()
    return np.where(visitor, WINTER_PRESENCE + (1.0 - WINTER_PRESENCE) * in_season, 1.0)


def simulate_checklists(n_sites: int = DEFAULT_SITES, *, seed: int = 0) -> MultiLabelData:
    """The simulated data set: `n_sites` checklists, covariates as features, species as labels."""
    assert n_sites >= 10, f"need at least 10 sites, got {n_sites}"
    rng = np.random.default_rng(seed)
    sites = simulate_sites(n_sites, rng)
    suitability = guild_suitability(sites, rng)
    probability = occurrence_probability(sites, suitability, residual_signal(n_sites, rng))
    present = (rng.random(probability.shape) < probability).astype(np.float32)
    return MultiLabelData(
        sites.to_numpy(np.float32), present, list(FEATURES), list(species_groups()),
        name=DEFAULT_NAME,
    )


def checklist_frame(data: MultiLabelData) -> pd.DataFrame:
    """One row per site: a `site` id, the feature columns, then one 0/1 column per species."""
    frame = pd.DataFrame(data.features, columns=data.feature_names)
    frame[data.label_names] = data.labels.astype(np.int8)
    frame.insert(0, "site", [f"S{i + 1:05d}" for i in range(data.n_samples)])
    return frame


def sidecar(data: MultiLabelData, *, seed: int) -> dict:
    """The JSON sidecar: what the CSV holds, like the shared ecology data, plus species guilds."""
    return {
        "title": f"Simulated eBird-style checklists: {data.n_labels} bird species at "
                 f"{data.n_samples} sites",
        "source": f"generated by cgmvae.simulate.write_checklists(n_sites={data.n_samples}, "
                  f"seed={seed})",
        "licence": "CC0 (synthetic data)",
        "notes": "Land-cover fractions sum to 1. Species of a guild (groups) respond to the same "
                 "habitat covariate; generalists depend on season and effort only. The "
                 "residual_pairs share a hidden site factor: they co-occur beyond what the "
                 "covariates explain. Real species names, simulated occurrences.",
        "features": list(data.feature_names),
        "labels": list(data.label_names),
        "n_rows": data.n_samples,
        "groups": species_groups(),
        "residual_pairs": residual_pairs(),
    }


def write_checklists(out_dir: str | Path, *, n_sites: int = DEFAULT_SITES, seed: int = 0) -> Path:
    """Write `<out_dir>/sim_birds.csv` and its `sim_birds.json` sidecar; return the CSV path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = simulate_checklists(n_sites, seed=seed)
    csv_path = out_dir / f"{data.name}.csv"
    checklist_frame(data).to_csv(csv_path, index=False)
    csv_path.with_suffix(".json").write_text(json.dumps(sidecar(data, seed=seed), indent=2) + "\n")
    return csv_path
