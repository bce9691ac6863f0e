"""SQL text for the statements DuckDB cannot bind parameters in (ATTACH, LOAD, CREATE SECRET)."""


def quoted(text: str) -> str:
    """`text` as a SQL string literal: quotes doubled, so no value can end the literal early."""
    return "'" + text.replace("'", "''") + "'"


def quoted_name(name: str) -> str:
    """`name` as a SQL identifier: double quotes doubled, so no name can end it early."""
    return '"' + name.replace('"', '""') + '"'
