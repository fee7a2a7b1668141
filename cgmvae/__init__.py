"""C-GMVAE: a Gaussian-mixture VAE with contrastive label embeddings for multi-label classification."""
