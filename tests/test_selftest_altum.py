"""The selftest for altum's drift profiles: every one caught, no false positive (tests/selftest_checks.py)."""

from selftest_checks import (  # noqa: F401 - collected here, for this vendor
    pytest_generate_tests,
    selftest,
    test_every_drift_fails_the_run_naming_a_rule_it_breaks,
    test_every_drift_is_caught_over_http_by_a_thorough_url_run,
    test_the_faithful_emulator_is_conformant_as_a_thorough_url_target,
    test_the_faithful_emulator_is_conformant_whatever_the_seed,
    test_the_selftest_passes_and_compares_with_plain_schemathesis,
)

VENDOR = "altum"
PLAIN = True  # the plain-schemathesis column: cheap here (a small spec, fixed-header credentials)
