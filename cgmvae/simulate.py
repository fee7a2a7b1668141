"""Simulated eBird-style checklists: sites with habitat covariates, bird species in habitat guilds.

The built-in demo data set of the app. Each site gets land-cover fractions, elevation, month and
observer effort; each habitat guild (water, forest, residential) responds to its habitat
fraction, so guild members co-occur because they share a habitat (the environmental part, paper
Fig. 3). Generalists depend on season and effort only. On top of that, a few small groups of
species drawn across guilds share an unobserved site factor (`residual_groups`): they co-occur
beyond what any covariate explains (the residual part, the "residual correlation" of joint species
distribution models). Both truths are written to the sidecar.

Bigger worlds for scale tests: `n_species` beyond the 42 named species adds `Species 043`...
in the four guilds in turn, `n_covariates` beyond 7 adds standard-normal covariates with a small
effect on every species. Sites are drawn in blocks of `SIMULATION_BLOCK`, each from its own
seeded stream, so a million sites are written with flat memory, as CSV or Parquet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cgmvae.data import MultiLabelData
from cgmvae.whole_file import whole_file

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
EXTRA_SLOPE_SD = 0.3  # logit change per sd of an added covariate: present, never dominant
SUMMER_VISITOR_RATE = len(SUMMER_VISITORS) / sum(len(m) for m in GUILDS.values())  # added species
# Sites drawn at once: block 0 uses the stream of `seed`, so sets up to this size are what they
# always were; block b > 0 uses the stream of (seed, b). About 250 MB at 200 species.
SIMULATION_BLOCK = 25_000


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


def residual_pairs(species: list[str] | None = None) -> list[list[str]]:
    """Every pair of species within a residual group (the planted residual associations), among
    `species` (default: the named species)."""
    return [[a, b] for group in _present_groups(species)
            for i, a in enumerate(group) for b in group[i + 1:]]


def _present_groups(species: list[str] | None) -> list[list[str]]:
    if species is None:
        return residual_groups()
    kept = [[s for s in group if s in species] for group in residual_groups()]
    return [group for group in kept if len(group) > 1]


def residual_signal(n_sites: int, rng: np.random.Generator,
                    species: list[str] | None = None) -> np.ndarray:
    """(N, L) logit shift: each residual group's members share one hidden N(0, 1) site factor."""
    names = list(species_groups()) if species is None else species
    shift = np.zeros((n_sites, len(names)))
    for group in _present_groups(species):
        factor = rng.normal(0.0, 1.0, size=n_sites)
        for member in group:
            shift[:, names.index(member)] = RESIDUAL_LOADING * factor
    return shift


def species_traits() -> pd.DataFrame:
    """One row per species: guild, intercept, guild slope, elevation slope, summer visitor."""
    groups = species_groups()
    traits = _draw_traits(list(groups.values()), np.random.default_rng(_TRAIT_SEED))
    traits["summer_visitor"] = [s in SUMMER_VISITORS for s in groups]
    return traits.set_axis(list(groups))


def added_species_traits(n: int) -> pd.DataFrame:
    """Traits of `n` species beyond the named ones (`Species 043`, ...), in the guilds in turn."""
    start = len(species_groups()) + 1
    rng = np.random.default_rng(_TRAIT_SEED + 2)
    guilds = [list(GUILDS)[k % len(GUILDS)] for k in range(n)]
    traits = _draw_traits(guilds, rng)
    traits["summer_visitor"] = rng.random(n) < SUMMER_VISITOR_RATE
    return traits.set_axis([f"Species {start + k:03d}" for k in range(n)])


def _draw_traits(guilds: list[str], rng: np.random.Generator) -> pd.DataFrame:
    n = len(guilds)
    is_generalist = np.array([g == "generalist" for g in guilds])
    return pd.DataFrame({
        "guild": guilds,
        "intercept": np.where(is_generalist, rng.uniform(-1.2, 0.3, n), rng.uniform(-1.6, -0.4, n)),
        "guild_slope": np.where(is_generalist, 0.0, rng.uniform(0.9, 1.5, n)),
        "elevation_slope": rng.normal(0.0, 0.25, n),  # per 500 m
    })


@dataclass(frozen=True)
class World:
    """The species and covariates that every seed draws sites for."""

    traits: pd.DataFrame  # one row per species (index: name), columns of `species_traits`
    added_slopes: np.ndarray  # (added covariates, L) logit change per sd of each

    @property
    def species(self) -> list[str]:
        return list(self.traits.index)

    @property
    def features(self) -> list[str]:
        first = len(FEATURES) + 1
        return [*FEATURES, *(f"covariate_{first + k:02d}" for k in range(len(self.added_slopes)))]

    def groups(self) -> dict[str, str]:
        """Every species mapped to its guild, in column order."""
        return dict(zip(self.traits.index, self.traits["guild"], strict=True))


def make_world(n_species: int | None = None, n_covariates: int | None = None) -> World:
    """The named species and the 7 covariates by default; the first `n_species` named species,
    or all of them and added ones; `n_covariates` >= 7 adds standard-normal covariates."""
    traits = species_traits()
    n_species = n_species or len(traits)
    n_covariates = n_covariates or len(FEATURES)
    if n_species < 1 or n_covariates < len(FEATURES):
        raise ValueError(f"need at least 1 species and the habitat model's {len(FEATURES)} "
                         f"covariates, got {n_species} species and {n_covariates} covariates")
    if n_species > len(traits):
        traits = pd.concat([traits, added_species_traits(n_species - len(traits))])
    rng = np.random.default_rng(_TRAIT_SEED + 3)
    slopes = rng.normal(0.0, EXTRA_SLOPE_SD, size=(n_covariates - len(FEATURES), n_species))
    return World(traits.iloc[:n_species], slopes)


def occurrence_probability(sites: pd.DataFrame, suitability: dict[str, np.ndarray],
                           residual: np.ndarray | None = None, *,
                           traits: pd.DataFrame | None = None) -> np.ndarray:
    """(N, L) probability of recording each species on each checklist (`residual`: a hidden
    (N, L) logit shift, see `residual_signal`, plus any added covariates' effect; `traits`:
    default the named species')."""
    traits = species_traits() if traits is None else traits
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


def simulate_block(n_sites: int, rng: np.random.Generator,
                   world: World) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, D) float32, presence (N, L) uint8) of `n_sites` sites of `world`."""
    sites = simulate_sites(n_sites, rng)
    suitability = guild_suitability(sites, rng)
    residual = residual_signal(n_sites, rng, world.species)
    added = rng.normal(0.0, 1.0, size=(n_sites, len(world.added_slopes)))
    if added.size:
        residual = residual + added @ world.added_slopes
    probability = occurrence_probability(sites, suitability, residual, traits=world.traits)
    present = rng.random(probability.shape) < probability
    return np.column_stack([sites.to_numpy(), added]).astype(np.float32), present.astype(np.uint8)


def iter_blocks(n_sites: int, *, seed: int = 0,
                world: World | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first site, features, presence) of each block of `SIMULATION_BLOCK` sites."""
    world = world or make_world()
    for block, start in enumerate(range(0, n_sites, SIMULATION_BLOCK)):
        rng = np.random.default_rng(seed if block == 0 else [seed, block])
        yield start, *simulate_block(min(SIMULATION_BLOCK, n_sites - start), rng, world)


def simulate_checklists(n_sites: int = DEFAULT_SITES, *, seed: int = 0,
                        n_species: int | None = None,
                        n_covariates: int | None = None) -> MultiLabelData:
    """The simulated data set: `n_sites` checklists, covariates as features, species as labels."""
    if n_sites < 10:
        raise ValueError(f"need at least 10 sites, got {n_sites}")
    world = make_world(n_species, n_covariates)
    blocks = list(iter_blocks(n_sites, seed=seed, world=world))
    return MultiLabelData(
        np.concatenate([features for _, features, _ in blocks]),
        np.concatenate([present for _, _, present in blocks]),
        world.features, world.species, name=DEFAULT_NAME,
    )


def checklist_frame(data: MultiLabelData, first_site: int = 0) -> pd.DataFrame:
    """One row per site: a `site` id, the feature columns, then one 0/1 column per species."""
    sites = pd.DataFrame({"site": [f"S{first_site + i + 1:05d}" for i in range(data.n_samples)]})
    return pd.concat([sites, pd.DataFrame(data.features, columns=data.feature_names),
                      pd.DataFrame(data.labels.astype(np.int8), columns=data.label_names)], axis=1)


def sidecar(world: World, n_sites: int, *, seed: int) -> dict:
    """The JSON sidecar: what the CSV holds, like the shared ecology data, plus species guilds."""
    defaults = {"n_species": len(species_groups()), "n_covariates": len(FEATURES)}
    sizes = {"n_species": len(world.species), "n_covariates": len(world.features)}
    added = "".join(f", {k}={v}" for k, v in sizes.items() if v != defaults[k])
    return {
        "title": f"Simulated eBird-style checklists: {len(world.species)} bird species at "
                 f"{n_sites} sites",
        "source": f"generated by cgmvae.simulate.write_checklists(n_sites={n_sites}, "
                  f"seed={seed}{added})",
        "licence": "CC0 (synthetic data)",
        "notes": "Land-cover fractions sum to 1. Species of a guild (groups) respond to the same "
                 "habitat covariate; generalists depend on season and effort only. The "
                 "residual_pairs share a hidden site factor: they co-occur beyond what the "
                 "covariates explain. Real species names, simulated occurrences.",
        "features": world.features,
        "labels": world.species,
        "n_rows": n_sites,
        "groups": world.groups(),
        "residual_pairs": residual_pairs(world.species),
    }


def write_checklists(out: str | Path, *, n_sites: int = DEFAULT_SITES, seed: int = 0,
                     n_species: int | None = None, n_covariates: int | None = None) -> Path:
    """Write the checklists and their sidecar `<name>.json`, block by block; return the table.

    `out` is a folder (the table is `<out>/sim_birds.csv`) or the table's path, `.csv` or
    `.parquet` (float32 covariates, uint8 species: what `load_dataset` reads fastest).
    """
    out = Path(out)
    path = out if out.suffix.lower() in (".csv", ".parquet") else out / f"{DEFAULT_NAME}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    world = make_world(n_species, n_covariates)
    frames = (checklist_frame(MultiLabelData(features, present, world.features, world.species),
                              first_site=start)
              for start, features, present in iter_blocks(n_sites, seed=seed, world=world))
    with whole_file(path) as partial:
        (_write_parquet if path.suffix.lower() == ".parquet" else _write_csv)(partial, frames)
    meta = sidecar(world, n_sites, seed=seed)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return path


def _write_csv(path: Path, frames: Iterator[pd.DataFrame]) -> None:
    with open(path, "w", newline="") as handle:
        for k, frame in enumerate(frames):
            frame.to_csv(handle, index=False, header=k == 0)


def _write_parquet(path: Path, frames: Iterator[pd.DataFrame]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for frame in frames:
            labels = frame.columns[frame.dtypes == np.int8]
            table = pa.Table.from_pandas(frame.astype(dict.fromkeys(labels, np.uint8)),
                                         preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=SIMULATION_BLOCK)
    finally:
        if writer is not None:
            writer.close()
