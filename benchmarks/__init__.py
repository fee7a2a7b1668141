"""Baselines and benchmark helpers that C-GMVAE is compared against."""
