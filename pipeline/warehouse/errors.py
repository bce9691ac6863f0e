"""One exception tree for the warehouse stage; every message is one line saying what to do."""


class WarehouseError(Exception):
    """The warehouse could not be read or written; the published file is unchanged."""


class WarehouseBusyError(WarehouseError):
    """Another pipeline process kept the warehouse write lock longer than the timeout."""
