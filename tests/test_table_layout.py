"""`resdsl table` fits the terminal: the grid when it fits, notes under rows, then rows stacked."""
from pathlib import Path

import pytest

from resdsl.cli import main

TABLES = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "specs" / "tables").glob("*.res"))


def _table(capsys, *args):
    code = main(["table", *args])
    out = capsys.readouterr().out
    return code, out.splitlines()


@pytest.mark.parametrize("table", TABLES)
def test_every_shipped_table_fits_100_columns_by_default(table, capsys):
    code, lines = _table(capsys, table)
    assert code == 0
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)


def test_a_narrow_terminal_stacks_each_row_over_its_figures(capsys):
    _, lines = _table(capsys, "densenet_table2", "--width", "80")
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("fractalnet (fractalnet): 33,724,618 params") for line in lines)
    at = next(i for i, line in enumerate(lines) if line.startswith("resnet110 (resnet_cifar)"))
    # its two figures, then its notes, before the next row
    assert lines[at + 1].split()[:2] == ["params", "1.7M"] and lines[at + 2].split()[:2] == ["params", "1727962"]
    assert lines[at + 3].strip() == "notes: c10_plus 6.61"


def test_a_wide_terminal_keeps_the_whole_grid(capsys):
    _, lines = _table(capsys, "densenet_table2", "--width", "250")
    assert lines[1].split() == ["row", "network", "params", "MACs", "published", "ours", "diff", "match", "notes"]
    nin = next(line for line in lines if line.startswith("nin "))
    assert nin.endswith("c10 10.41, c10_plus 8.81, c100 35.68, svhn 2.35")


def test_between_the_two_notes_go_under_their_row(capsys):
    from resdsl.cli import resolve_file
    from resdsl.tables import _grid, _grid_with_notes_below, cells, evaluate_file

    def widest(lines):
        return max(len(line) for line in lines)

    for table in TABLES:  # a table whose notes alone make the grid too wide
        header, body = cells(evaluate_file(resolve_file(table))[0])
        full, middle = widest(_grid(header, body, 999)), widest(_grid_with_notes_below(header, body, 999))
        if middle < full:
            break
    else:
        pytest.fail("no shipped table has notes wider than the rest of its grid")
    _, lines = _table(capsys, table, "--width", str(middle))
    assert lines[1].split()[-1] == "match" and widest(lines) <= middle
    noted = [i for i, row in enumerate(body) if row[-1]]
    assert noted and any(line.startswith("    ") and line.strip() for line in lines)


def test_width_below_40_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["table", "densenet_table2", "--width", "30"])
    assert exit_.value.code == 2 and "at least 40" in capsys.readouterr().err
