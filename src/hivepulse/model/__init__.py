"""The normalized event model: the one place that knows the schema, the converters and the integrity rules.

Three tables, as pandas DataFrames with fixed column names and dtypes; every timestamp is tz-aware UTC
(``datetime64[ns, UTC]``). Every source fills them; every metric reads them. See ``docs/data-model.md``.

- :mod:`~hivepulse.model.schema`: tables, columns, dtypes, canonical (empty or completed) frames;
- :mod:`~hivepulse.model.convert`: text -> typed values (timestamps, enums, booleans, integers) and the one
  timestamp formatter;
- :mod:`~hivepulse.model.validate`: what a reader of a table accepts (:class:`TableSpec`) and the cell
  validation every reader calls;
- :mod:`~hivepulse.model.integrity`: duplicate ids, time order, references (:func:`check_integrity`);
- :mod:`~hivepulse.model.events`: :class:`EventSet`, :func:`event_set`, :func:`coerce`.
"""

from hivepulse.model.convert import format_timestamp, format_utc, normalize_name, parse_timestamp, to_utc
from hivepulse.model.events import EventSet, coerce, environment_counts, event_set, other_environments
from hivepulse.model.integrity import Problem, check_integrity, integrity_problems
from hivepulse.model.schema import (
    BOOL,
    DEPLOYMENT_KINDS,
    DEPLOYMENT_STATUSES,
    ID_COLUMN,
    INT,
    SCHEMA,
    STRING,
    TABLES,
    UTC_DTYPE,
    Column,
    TableName,
    column_names,
    columns,
    empty,
    required_columns,
)
from hivepulse.model.validate import EVENT_FILES, TableSpec, ValueRule, validate_cells

__all__ = [
    "BOOL",
    "DEPLOYMENT_KINDS",
    "DEPLOYMENT_STATUSES",
    "EVENT_FILES",
    "ID_COLUMN",
    "INT",
    "SCHEMA",
    "STRING",
    "TABLES",
    "UTC_DTYPE",
    "Column",
    "EventSet",
    "Problem",
    "TableName",
    "TableSpec",
    "ValueRule",
    "check_integrity",
    "coerce",
    "column_names",
    "columns",
    "empty",
    "environment_counts",
    "event_set",
    "format_timestamp",
    "format_utc",
    "integrity_problems",
    "normalize_name",
    "other_environments",
    "parse_timestamp",
    "required_columns",
    "to_utc",
    "validate_cells",
]
