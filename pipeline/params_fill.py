"""How params.yaml's null keys are filled before validation: from `kinds` (by data.kind), from
the preset (model.preset), and register.model_name from the source; and YAML 1.2 floats."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from pipeline import metric_names
from pipeline.errors import ConfigError
from pipeline.kinds import KINDS

Sections = dict[str, type[BaseModel]]


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader reading floats as YAML 1.2 does: PyYAML alone takes `1e-07` (as written by
    `dvc exp run -S train.lr_g=0.0000001`) for a string."""


Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _fill(raw: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """raw with each null (or absent) key of values' sections taken from values."""
    out = dict(raw)
    for section, fills in values.items():
        merged = dict(out.get(section) or {})
        for key, value in fills.items():
            if merged.get(key) is None:  # a value set in the section wins
                merged[key] = value
        out[section] = merged
    return out


def _checked(
    block: Any, name: str, sections: Sections, chooser: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """A `presets`/`kinds` block: {entry: {section: {key: value}}} with known keys only."""
    block = block or {}
    if not isinstance(block, dict):
        raise ConfigError(f"{name}: expected a mapping of name -> {{section: {{key: value}}}}")
    for entry, body in block.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{name}.{entry}: expected a mapping of sections")
        for section, values in body.items():
            fields = sections.get(section)
            if fields is None or not isinstance(values, dict):
                raise ConfigError(f"{name}.{entry}.{section}: only {'/'.join(sections)} mappings")
            for key in values:
                if key not in fields.model_fields or key == chooser:  # no recursion
                    raise ConfigError(f"{name}.{entry}.{section}.{key}: unknown key")
    return block


def apply_kind(raw: dict[str, Any], sections: Sections) -> dict[str, Any]:
    """Fill null data/model/register keys from `kinds`, by data.kind (before the preset)."""
    kinds = _checked(raw.get("kinds"), "kinds", sections, "kind")
    data = raw.get("data")
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind is None or not kinds:
        return raw
    if kind not in kinds:
        raise ConfigError(f"kinds: no entry for data.kind {kind!r} (has: {sorted(kinds)})")
    return _fill(raw, kinds[kind])


def apply_preset(raw: dict[str, Any], sections: Sections) -> dict[str, Any]:
    """Fill the null (or absent) model/train keys from the preset named by model.preset."""
    presets = _checked(raw.get("presets"), "presets", sections, "preset")
    model = raw.get("model")
    name = model.get("preset") if isinstance(model, dict) else None
    if name is None:
        return raw
    if name not in presets:
        raise ConfigError(f"model.preset: unknown preset {name!r} (known: {sorted(presets)})")
    return _fill(raw, presets[name])


def apply_model_name(raw: dict[str, Any]) -> dict[str, Any]:
    """Fill a null register.model_name with gan-<the kind's name for data.source>."""
    data, register = raw.get("data"), raw.get("register")
    if not isinstance(data, dict) or not isinstance(register or {}, dict):
        return raw  # the section's own error is reported
    source, kind = data.get("source"), data.get("kind")
    if not isinstance(source, str):  # data.source's own error is the one to read
        source = ""
    name = KINDS[kind].source_name(source) if kind in KINDS else Path(source).name
    return _fill(raw, {"register": {"model_name": metric_names.model_name(name)}})
