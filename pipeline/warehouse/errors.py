"""One exception tree for the warehouse stage; every message is one line saying what to do."""


class WarehouseError(Exception):
    """The warehouse could not be read or written; a write that failed committed nothing."""


class WarehouseBusyError(WarehouseError):
    """Another writer (a SQLite catalog's, or an export into the same folder) kept its lock
    longer than the timeout."""
