"""Every hand-written MySQL pair (tests/mysql_cases.py) converges on the machine's MariaDB, in
both directions: model equal, SHOW CREATE TABLE equal, second plan empty."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.mysql_cases import CASES
from tests.mysql_converge import converge, execute, run, statements


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("name,first,second", CASES, ids=[c[0] for c in CASES])
def test_pair_converges(mysql_db: Callable[..., str], name: str, first: str, second: str,
                        direction: str) -> None:
    a, b = mysql_db(name), mysql_db(name)
    src, dst = (first, second) if direction == "forward" else (second, first)
    run(execute(a, statements(src)))
    run(execute(b, statements(dst)))
    run(converge(a, b))
