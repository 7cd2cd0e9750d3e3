"""Issue 12: `resdsl table` runs on one work budget for the whole file.  Each row used to get a fresh
elaboration budget, so a table of forty cheap-looking rows could run forty networks' worth of steps."""
from __future__ import annotations

from pathlib import Path

import pytest

from resdsl import limits
from resdsl.diagnostics import LimitError
from resdsl.tables import evaluate_file

from golden_util import run_cli

# Each row's network takes about 240,000 steps (three per iteration): inside one network's limit of
# 300,000, and the table's 600,000 hold two such rows.
NET = "network t(n=1) {\n  input 3x8x8\n  for i in 1..80000 { identity }\n}\n"


def _table(rows: int) -> str:
    body = "".join(f"  r{i} = t(n={i})\n" for i in range(rows))
    return NET + f'table busy "rows that each loop" {{\n{body}}}\n'


def test_a_few_busy_rows_fit_the_table_budget(tmp_path: Path):
    path = tmp_path / "few.res"
    path.write_text(_table(2))
    (result,) = evaluate_file(path)
    assert [r.name for r in result.rows] == ["r0", "r1"]


def test_many_busy_rows_are_refused_at_the_row_that_passes_the_table_limit(tmp_path: Path):
    path = tmp_path / "many.res"
    path.write_text(_table(5))
    with pytest.raises(LimitError) as info:
        evaluate_file(path)
    err = info.value
    assert f"more than {limits.MAX_TABLE_STEPS:,} evaluation steps together" in err.message
    assert (err.span.line, err.span.column) == (3, 3)  # the loop that passed it
    (note_span, note), = err.diagnostics[0].notes
    rows_within = limits.MAX_TABLE_STEPS // _row_steps(tmp_path)  # these rows fit; the next one passes
    assert rows_within == 2
    assert note.startswith(f"in row r{rows_within}, after the earlier rows used ")
    assert note_span.line == 6 + rows_within


def _row_steps(tmp_path: Path) -> int:
    from resdsl import tables
    from resdsl.elaborate.work import TableWork

    path = tmp_path / "single.res"
    path.write_text(_table(1))
    program = tables.load_program(path)
    work = TableWork()
    tables.evaluate(program, program.tables["busy"], work)
    return work.steps


def test_one_row_is_still_held_to_one_network_limit(tmp_path: Path):
    path = tmp_path / "one.res"
    path.write_text(NET.replace("{ identity }", "{ identity, identity }") + 'table one "x" {\n  r = t(n=1)\n}\n')
    with pytest.raises(LimitError) as info:
        evaluate_file(path)
    assert f"more than {limits.MAX_STEPS:,} evaluation steps" in info.value.message
    assert not info.value.diagnostics[0].notes


def test_the_cli_refuses_a_busy_table_with_exit_1_and_a_location(tmp_path: Path):
    path = tmp_path / "many.res"
    path.write_text(_table(5))
    code, _, err = run_cli(tmp_path, ["table", str(path)])
    assert code == 1
    assert f"{path}:3:3: error: this table's rows need more than" in err
    assert "note: in row r2, after the earlier rows used" in err
    assert "Traceback" not in err


def test_the_shipped_tables_use_under_a_quarter_of_the_table_budget():
    from resdsl.elaborate.work import TableWork
    from resdsl import tables

    specs = Path(__file__).resolve().parent.parent / "specs" / "tables"
    for path in sorted(specs.glob("*.res")):
        program = tables.load_program(path)
        work = TableWork()
        for name in program.main_tables:
            tables.evaluate(program, program.tables[name], work)
        assert work.steps < limits.MAX_TABLE_STEPS / 4, path.name
        assert work.nodes < limits.MAX_TABLE_NODES / 4, path.name
