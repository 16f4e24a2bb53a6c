"""Logs and backups are stores too (issue 18): the data map declares Cloud Logging and the
Cloud SQL backups and point-in-time recovery with the retention Terraform sets, the processing
record lists them with that retention, and the proof of erasure says when erased data has
left them."""

from __future__ import annotations

from pathlib import Path

import pytest
from lederappen.core import datamap
from lederappen.privacy import record

from tests.unit.test_terraform import one, parse, sql_instance

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"


def _variables() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for block in parse(TF / "variables.tf").get("variable", []):
        out.update(block)
    return out


def _tfvars(name: str) -> dict:
    return parse(TF / "environments" / name)


def test_logs_and_backups_are_declared_as_stores_outside_the_databases():
    outside = datamap.outside()
    assert {s.kind for s in outside.values()} == {"logging", "backup"}
    assert set(outside) == {
        "cloud-logging",
        "cloud-sql-backups",
        "cloud-sql-point-in-time-recovery",
    }
    for store in outside.values():
        assert store.retention_days and store.retention_set_by and store.erase == "expire"
        assert store.erased_after["nb"] and store.erased_after["en"]
    assert datamap.by_name("cloud-logging").key_form == "pseudonym"


@pytest.mark.parametrize(
    "name", ["cloud-logging", "cloud-sql-backups", "cloud-sql-point-in-time-recovery"]
)
def test_the_retention_the_data_map_states_is_what_terraform_sets(name):
    store = datamap.by_name(name)
    var = _variables()[store.retention_set_by]
    assert var["default"] == store.retention_days, (name, var["default"])
    # production keeps the default, or states the same
    assert (
        _tfvars("prod.tfvars").get(store.retention_set_by, store.retention_days)
        == store.retention_days
    )
    # and the number of days is written in the words the member reads
    assert str(store.retention_days) in store.retention["nb"]
    assert str(store.retention_days) in store.retention["en"]


def test_terraform_wires_those_variables_to_the_log_bucket_and_the_backups():
    backup = one(one(sql_instance(), "settings"), "backup_configuration")
    assert "var.sql_pitr_log_retention_days" in str(backup["transaction_log_retention_days"])
    assert "var.sql_backup_retained_count" in str(
        one(backup, "backup_retention_settings")["retained_backups"]
    )
    assert one(backup, "backup_retention_settings")["retention_unit"] == "COUNT"
    buckets = [
        b
        for block in parse(TF / "logging.tf")["resource"]
        for rtype, named in block.items()
        if rtype == "google_logging_project_bucket_config"
        for b in named.values()
    ]
    assert len(buckets) == 1 and buckets[0]["bucket_id"] == "_Default"
    assert "var.log_retention_days" in str(buckets[0]["retention_days"])


def test_the_processing_record_lists_logs_and_backups_with_their_retention():
    rec = record.build()
    by_store = {a["store"]: a for a in rec["activities"]}
    for name in datamap.outside():
        a = by_store[name]
        store = datamap.by_name(name)
        assert a["retention_days"] == store.retention_days
        assert a["retention_set_by"] == f"terraform: var.{store.retention_set_by}"
        assert a["erasure"] == store.erased_after
    md = record.markdown(rec, "en")
    assert "`cloud-logging`" in md and "var.sql_backup_retained_count" in md
    # and the columns that name members besides a member key
    audit = by_store["audit_events"]["also_names_members"]
    assert [r["column"] for r in audit] == ["actor"] and "erased member" in audit[0]["erasure"][
        "en"
    ]
