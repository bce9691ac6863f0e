import pytest

from pipeline.warehouse import Warehouse


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "wh" / "warehouse.sqlite")


@pytest.fixture(params=["sqlite-folder", "postgres-s3"])
def lake_env(request, tmp_path) -> dict[str, str]:
    """The settings of an empty lake of each kind: a SQLite catalog with its files in a folder,
    and a Postgres catalog (a real server) with its files on S3 (moto's server)."""
    if request.param == "sqlite-folder":
        return {"PIPELINE_WAREHOUSE": str(tmp_path / "warehouse.sqlite")}
    postgres, s3 = request.getfixturevalue("postgres"), request.getfixturevalue("s3")
    bucket = s3.new_bucket()
    return {
        "PIPELINE_WAREHOUSE": postgres.new_database(),
        "PGPASSWORD": postgres.password,
        "PIPELINE_DATA_PATH": f"s3://{bucket}/lake/",
        **s3.env(bucket),
    }
