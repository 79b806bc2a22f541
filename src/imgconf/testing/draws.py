"""The seed alone decides what a run draws: Hypothesis' "local constants" are left out.

Now and then Hypothesis draws a constant read from the source of any imported module outside site-packages,
and reads them as modules are imported. In an installed imgconf there are none (it and its suites live in
site-packages); in a checkout (an editable install, which is what CI runs) they are imgconf's own code and the
suites' conftests. So in a checkout one seed drew different cases for one vendor depending on which other
vendors ran beside it (identifAI's smoke contract cases: 145 alone with Huawei, 147 beside all three, 76 of
them different), and again after any edit of imgconf's code: a run's cases were not its seed's, `--workers`
could split a run into processes that draw differently from one, and CI tested cases no user would draw.
Those constants are imgconf's, not the vendor's: they test no API. tests/test_draws.py checks the cases are
the same for a vendor whatever runs beside it.
"""

from __future__ import annotations

from typing import Any

from hypothesis.internal.conjecture import providers

_NONE: Any = providers.Constants()  # what an installed imgconf's runs find


def no_local_constants() -> Any:
    return _NONE


def install() -> None:
    """For the process (idempotent): the constants of local modules are none, and none are cached yet."""
    providers._get_local_constants = no_local_constants
    providers.CONSTANTS_CACHE.cache.clear()
