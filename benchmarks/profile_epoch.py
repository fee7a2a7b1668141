"""cProfile of a whole `cgmvae train` process on yeast (20 epochs, one thread): where the time goes.

Usage: OMP_NUM_THREADS=1 python -m benchmarks.profile_epoch [--epochs 20] [--top 30] [--out DIR]
Prints the top functions by cumulative and by own time; imports are included, as in the
whole-process time that `benchmarks.speed`'s yeast ratio measures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile

YEAST = ["--data", "../shared/data/mulan/yeast", "--split", "../shared/data/splits/yeast.json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as out:
        profiler.enable()
        from cgmvae.cli import main as cli_main  # imports count, as in a fresh process

        cli_main(["train", *YEAST, "--epochs", str(args.epochs), "--out", f"{out}/run"])
        profiler.disable()
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(args.top)
        print(text.getvalue())


if __name__ == "__main__":
    main()
