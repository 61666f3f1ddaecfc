"""The long result table: a list of row dicts that also becomes a pandas DataFrame.

``Probes.results``, :func:`infomeasure.read_metrics`, :func:`infomeasure.analyze` and
:func:`infomeasure.analyze_series` return a :class:`ResultRows`: a plain ``list`` of dicts (code
that indexes, loops over or compares the rows works as before) with a :meth:`~ResultRows.to_pandas`
method. pandas is imported only when that method is called (``pip install pandas``).

>>> from infomeasure._table import ResultRows
>>> rows = ResultRows([{"step": 0, "layer": "fc", "measure": "rankme", "value": 3.5}])
>>> rows == [{"step": 0, "layer": "fc", "measure": "rankme", "value": 3.5}], isinstance(rows, list)
(True, True)
>>> rows.to_pandas()[["step", "layer", "measure", "value"]]
   step layer measure  value
0     0    fc  rankme    3.5
"""

from __future__ import annotations

from .sinks import COLUMNS

__all__ = ["ResultRows"]

#: Column dtypes of the data frame (pandas names): one dtype per column whatever the rows hold,
#: so that frames of different runs concatenate and compare (``n_samples`` is empty on rows
#: logged with ``Probes.log``, hence the nullable integer).
_DTYPES = {"step": "Int64", "value": "float64", "n_samples": "Int64", "n_features": "Int64"}


def _pandas():
    try:
        import pandas
    except ImportError as e:
        raise ImportError(
            "to_pandas() needs pandas: pip install pandas (or pip install 'infomeasure[pandas]'); "
            "the rows themselves are a list of dicts"
        ) from e
    return pandas


class ResultRows(list):
    """Result rows (dicts with the :data:`infomeasure.sinks.COLUMNS` keys): a ``list`` with :meth:`to_pandas`."""

    __slots__ = ()

    def to_pandas(self):
        """The rows as a ``pandas.DataFrame``, one row per dict.

        The columns are :data:`~infomeasure.sinks.COLUMNS` in that order (also for an empty
        table), then any other keys in the order they first appear. ``step``, ``n_samples`` and
        ``n_features`` are nullable integers (``Int64``), ``value`` is float64 with NaN for error
        rows (their message is in ``error``).

        Raises
        ------
        ImportError
            pandas is not installed (``pip install pandas``).

        Examples
        --------
        >>> from infomeasure._table import ResultRows
        >>> rows = ResultRows([{"step": 0, "layer": "fc", "measure": "rankme", "value": 3.5},
        ...                    {"step": 0, "layer": "fc", "measure": "mi_labels", "value": None,
        ...                     "error": "ValueError: no labels"}])
        >>> df = rows.to_pandas()
        >>> df[["measure", "value", "error"]]
             measure  value                  error
        0     rankme    3.5                    NaN
        1  mi_labels    NaN  ValueError: no labels
        >>> df.pivot(index="step", columns="measure", values="value")
        measure  mi_labels  rankme
        step
        0              NaN     3.5
        """
        pd = _pandas()
        columns = list(COLUMNS)
        seen = set(columns)
        for row in self:
            for key in row:
                if key not in seen:
                    seen.add(key)
                    columns.append(key)
        frame = pd.DataFrame.from_records([dict(row) for row in self], columns=columns)
        return frame.astype({c: t for c, t in _DTYPES.items() if c in frame.columns})
