"""The run journal: batches saved as they go, reopened by a resume, published at once."""

from datetime import date

import pytest
from warehouse.wh_frames import day, usage_load

from pipeline.warehouse import RunJournal, WarehouseError

D0, D1 = date(2024, 3, 1), date(2024, 3, 2)


def save(journal: RunJournal, client_id: str) -> None:
    load = usage_load([client_id], D0, D1, [day(client_id, D0, "1.5")])
    journal.save_batch(
        [client_id],
        {
            "usage_daily": load["daily"],
            "usage_by_category": load["by_category"],
            "usage_coverage": load["coverage"],
        },
    )


def test_a_resume_reopens_the_saved_batches_and_a_fresh_run_starts_empty(wh):
    with RunJournal.open(wh, "run", D0, D1, resume=False) as journal:
        save(journal, "a")
        save(journal, "b")
    with RunJournal.open(wh, "run", D0, D1, resume=True) as journal:
        assert journal.saved_clients() == {"a", "b"} and journal.batches() == 2
    with RunJournal.open(wh, "run", D0, D1, resume=False) as journal:
        assert journal.saved_clients() == set()


def test_a_resume_with_another_channel_setting_is_refused_in_one_line(wh):
    with RunJournal.open(wh, "run", D0, D1, resume=False, channel_usage=True) as journal:
        save(journal, "a")
    with pytest.raises(WarehouseError) as caught:
        RunJournal.open(wh, "run", D0, D1, resume=True, channel_usage=False).__enter__()
    assert str(caught.value) == (
        "the interrupted run of 2024-03-01..2024-03-02 had PIPELINE_CHANNEL_USAGE=on; resume it "
        "with the same setting, or run the range again without --resume"
    )
    with RunJournal.open(wh, "run", D0, D1, resume=True, channel_usage=True) as journal:
        assert journal.saved_clients() == {"a"}  # the refusal kept the saved batch


def test_publishing_twice_adds_nothing_the_first_did_not(wh):
    with RunJournal.open(wh, "run", D0, D1, resume=False) as journal:
        save(journal, "a")
        first = journal.publish(wh)
        again = journal.publish(wh)
    assert first["inserted"]["usage_daily"] == 1 and first["deleted"]["usage_daily"] == 0
    assert again["deleted"]["usage_daily"] == 1 and again["inserted"]["usage_daily"] == 1
    with wh.read() as con:
        assert con.execute("SELECT count(*) FROM usage_daily").fetchall() == [(1,)]
