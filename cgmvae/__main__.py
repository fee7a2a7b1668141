"""`python -m cgmvae`: the command line."""

import sys

from cgmvae.cli import main

sys.exit(main())
