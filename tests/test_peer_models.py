"""The 81 SDXorg peer models (../shared/peer-models): same numbers as Vensim and pysd, or a named refusal.

For every case not listed in tests/peer_refusals.toml the fast engine must equal Vensim's
reference output (rtol 2e-3, atol 1e-6, every shared column, every reference time: what pysd
meets) and pysd's own run to 1e-9. A listed case must be refused at load time with a
``UserError`` carrying its listed reason; it is reported as xfailed ("refused"), never as passed.
A wrong number fails. Skipped when ../shared is absent.
"""

from __future__ import annotations

import pytest
from peers import (
    PEERS,
    assert_matches_reference,
    case_name,
    cases,
    fast_frame,
    pysd_frame,
    reference,
    refusals,
)
from support import assert_results_close

from simulator.errors import UserError

CASES = cases()
PYSD_RTOL, PYSD_ATOL = 1e-9, 1e-12
pytestmark = pytest.mark.skipif(not CASES, reason="../shared/peer-models is absent")


@pytest.fixture(scope="module")
def pysd_cache(tmp_path_factory):
    """pysd translations go to a temporary cache, never beside the (read-only) models."""
    return tmp_path_factory.mktemp("pysd-cache")


def test_refusal_list_names_known_cases():
    names = {case_name(c) for c in CASES}
    assert set(refusals()) <= names


@pytest.mark.parametrize("case", CASES, ids=case_name)
def test_fast_engine_equals_vensim_and_pysd(case, pysd_cache):
    mdl = PEERS / case
    reason = refusals().get(case_name(case))
    if reason is not None:
        with pytest.raises(UserError) as error:
            fast_frame(mdl)
        message = str(error.value)
        assert reason in message and "\n" not in message and mdl.name in message
        pytest.xfail(f"refused: {message}")
    actual = fast_frame(mdl)
    assert_matches_reference(actual, reference(mdl))
    before = sorted(p.name for p in mdl.parent.iterdir())
    expected = pysd_frame(mdl, pysd_cache)
    assert sorted(p.name for p in mdl.parent.iterdir()) == before, "pysd wrote beside the model"
    # a cell that no equation defines is pysd's NaN/0 filler, not a variable of the model
    undefined = [c for c in expected.columns if c not in actual.columns]
    assert all(expected[c].isna().all() or (expected[c] == 0).all() for c in undefined), undefined
    shared = [c for c in expected.columns if c in actual.columns]
    assert_results_close(actual[shared], expected[shared], PYSD_RTOL, PYSD_ATOL)
