"""A misspelt command, option or choice: exit 2, the (sub)command's usage, and a did-you-mean."""
from __future__ import annotations

import pytest

from resdsl.cli import main


@pytest.mark.parametrize("argv, usage, hint", [
    (["cout", "resnet20"], "usage: resdsl [-h]", "did you mean 'count'?"),
    (["count", "resnet20", "--jsn"], "usage: resdsl count", "'--json'"),
    (["count", "resnet20", "--by", "stag"], "usage: resdsl count", "did you mean 'stage'?"),
    (["draw", "resnet20", "--levle", "op"], "usage: resdsl draw", "'--level'"),
])
def test_did_you_mean_with_usage(argv, usage, hint, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and hint in err


@pytest.mark.parametrize("command", [["count"], ["draw", "-o", "x.dot"], ["compile", "-o", "x.py"]])
def test_a_table_file_given_for_a_network_points_to_table_and_plot(command, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main([command[0], "resnet_imagenet_table1", *command[1:]])
    err = capsys.readouterr().err
    assert code == 2 and "defines no network, only the table resnet_imagenet_table1" in err
    assert "`resdsl table FILE`" in err and "`resdsl plot --table FILE`" in err
    assert not list(tmp_path.iterdir())  # nothing written
