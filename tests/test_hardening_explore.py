"""Input checks in the correlation helpers hold under `python -O` (they were asserts)."""

import subprocess
import sys

import numpy as np
import pytest

from cgmvae.explore.correlations import cluster_labels, cooccurrence


def test_an_unknown_cooccurrence_kind_is_a_value_error():
    with pytest.raises(ValueError, match="kind must be one of phi, jaccard, got 'cosine'"):
        cooccurrence(np.eye(3), "cosine")


def test_clustering_one_label_is_a_value_error():
    with pytest.raises(ValueError, match="need at least 2 labels to cluster, got 1"):
        cluster_labels(np.ones((1, 1)), 2)


def test_the_checks_survive_python_O():
    code = ("import numpy as np\nfrom cgmvae.explore.correlations import cooccurrence\n"
            "try:\n    cooccurrence(np.eye(3), 'cosine')\n"
            "except ValueError:\n    print('refused')\n")
    result = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                            check=False,
                            timeout=120)
    assert result.stdout.strip() == "refused", result.stderr
