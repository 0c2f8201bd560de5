"""Sequences: recurrent and temporal-conv networks, scaling, sampling and the metric math."""
