"""Plain-text tables for the benchmark scripts: a title, a header line and a rule."""


def print_header(title: str, *columns: str) -> None:
    """Print ``title``, then the columns joined by `` | `` and a rule as long as that line.

    Each column is a pre-formatted cell (its width and alignment set by the caller's f-string).
    """
    header = " | ".join(columns)
    print(title)
    print(header)
    print("-" * len(header))
