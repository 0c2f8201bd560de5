"""GAN networks, losses, EMA and metric math: no distribution, logging or file paths.

Kind-independent parts sit here; each data kind has its folder (`image/`, `tabular/`). Build
networks with ganmodels.build (it imports every kind's networks: this package imports nothing,
so reading a table's transformer does not load them).
"""
