"""The screening commands: import with progress, bulk screen (SPEC §3), lost/stolen, rescreen."""

from __future__ import annotations

import csv

from sqlalchemy import select

from eta.models import LostStolenDocument
from tests.screening.conftest import SAMPLE_LIST


def test_watchlist_import_and_bulk_screen(runner, session, tmp_path):
    listed = tmp_path / "list.csv"
    listed.write_text(SAMPLE_LIST, encoding="utf-8")
    result = runner.invoke(
        args=["watchlist", "import", str(listed), "--format", "csv", "--source", "NATIONAL"]
    )
    assert result.exit_code == 0, result.output
    assert "Importing NATIONAL: 2 entries" in result.output
    assert "Imported 2 entries from list.csv as NATIONAL version 1 (now active)." in result.output

    people = tmp_path / "people.csv"
    people.write_text(
        "id,full_name,date_of_birth,nationality,sex\n"
        "p1,Viktor Drozdow,1968-05-17,RU,M\n"
        "p2,Виктор Дроздов,,,\n"
        "p3,Anna Maria Eriksson,1974-08-12,SWE,F\n"
        "p4,Jane Nobody,1990,,\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.csv"
    result = runner.invoke(args=["watchlist", "screen", str(people), str(output)])
    assert result.exit_code == 0, result.output
    assert "Screened 4 people against NATIONAL v1: 2 hits." in result.output
    with open(output, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "hit", "score", "entry_id", "source", "explanation", "error"]
    assert [(r["id"], r["hit"], r["entry_id"], r["source"]) for r in rows] == [
        ("p1", "true", "T-1", "NATIONAL"),
        ("p2", "true", "T-1", "NATIONAL"),
        ("p3", "false", "", ""),
        ("p4", "false", "", ""),
    ]
    assert float(rows[0]["score"]) >= 0.77
    assert "DOB year equal" in rows[0]["explanation"]


def test_bulk_screening_reports_a_bad_row_in_place_and_carries_on(runner, session, tmp_path):
    """Wave 1 aborted a 5,000-row file at the first impossible date."""
    listed = tmp_path / "list.csv"
    listed.write_text("id,full_name,date_of_birth\nT-1,Viktor Drozdov,1968-05-17\n")
    runner.invoke(args=["watchlist", "import", str(listed), "--format", "csv", "--source", "N"])
    people = tmp_path / "people.csv"
    people.write_text(
        "id,full_name,date_of_birth,nationality\n"
        "p1,Viktor Drozdov,1968-05-17,\n"
        "p2,Jane Nobody,1990-02-30,\n"
        "p3,,1990,\n"
        "p4,John Doe,1970,Atlantis\n"
        "p5,Anna Eriksson,1974,SWE\n",
        encoding="utf-8",
    )
    output = tmp_path / "out.csv"
    result = runner.invoke(args=["watchlist", "screen", str(people), str(output)])
    assert result.exit_code == 0, result.output
    assert "Screened 2 people against N v1: 1 hits." in result.output
    assert "3 row(s) could not be screened" in result.output
    with open(output, encoding="utf-8", newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert [rows[key]["hit"] for key in ("p1", "p2", "p3", "p4", "p5")] == [
        "true",
        "",
        "",
        "",
        "false",
    ]
    assert rows["p2"]["error"].startswith("line 3: ")
    assert rows["p3"]["error"] == "line 4: full_name is empty"
    assert rows["p4"]["error"] == "line 5: unknown nationality 'Atlantis'"
    assert rows["p1"]["error"] == rows["p5"]["error"] == ""

    nobody = tmp_path / "nobody.csv"
    nobody.write_text("id,full_name,date_of_birth\nq1,,\nq2,X Y,1990-13-01\n")
    result = runner.invoke(args=["watchlist", "screen", str(nobody), str(output)])
    assert result.exit_code == 1
    assert "Screened 0 people" in result.output


def test_import_errors_name_the_line(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,full_name,date_of_birth\nA,Someone,yesterday\n")
    result = runner.invoke(
        args=["watchlist", "import", str(bad), "--format", "csv", "--source", "X"]
    )
    assert result.exit_code == 1
    assert "bad.csv: line 2: date of birth 'yesterday' is not YYYY or YYYY-MM-DD" in result.output


def test_lost_stolen_import(runner, session, tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text("country,number\nSE,L898902C3\n")
    result = runner.invoke(args=["lost-stolen", "import", str(path), "--source", "INTERPOL"])
    assert result.exit_code == 0, result.output
    assert "Added 1 documents (0 already listed)." in result.output
    document = session.scalar(select(LostStolenDocument))
    assert (document.issuing_country, document.source) == ("SWE", "INTERPOL")


def test_rescreen_with_nothing_issued(runner, session):
    result = runner.invoke(args=["rescreen"])
    assert result.exit_code == 0, result.output
    assert "Queued 0 re-screens" in result.output
