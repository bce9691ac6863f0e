import pytest

from pipeline.warehouse import Warehouse


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "wh" / "warehouse.sqlite")
