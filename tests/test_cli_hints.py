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
