"""Images: CNN and MLP networks, deterministic sampling, the domain classifier and Inception."""
