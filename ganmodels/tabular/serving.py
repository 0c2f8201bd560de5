"""What a table model's pyfunc takes and returns: {n, seed[, condition_column,
condition_value]} -> a DataFrame of n rows with the original column names, dtypes and
categories (every row with condition_column == condition_value when both are given)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ganmodels.tabular.sampling import table_sampler_from_state


class TableServing:
    """Samples rows from an exported tabular generator through its transformer."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.table = table_sampler_from_state(state)

    def predict(self, model_input: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
        """n rows; all with condition_column == condition_value when both are given."""

        def given(name: str) -> Any:
            if name not in model_input.columns:
                return None
            value = model_input[name].iloc[0]
            return None if pd.isna(value) else value

        if "label" in model_input.columns and given("label") is not None:
            raise ValueError("a table model takes condition_column/condition_value, not 'label'")
        column, value = given("condition_column"), given("condition_value")
        if (column is None) != (value is None):
            raise ValueError("give both condition_column and condition_value, or neither")
        return self.table.sample(n, seed, None if column is None else str(column), value)
