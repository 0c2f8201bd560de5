"""GAN networks, losses, EMA and metric math: no distribution, logging or file paths."""

from ganmodels.build import build_discriminator, build_generator, generator_from_state
from ganmodels.sampling import generate, to_uint8

__all__ = [
    "build_discriminator",
    "build_generator",
    "generate",
    "generator_from_state",
    "to_uint8",
]
