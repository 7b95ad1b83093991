"""The cleaner on the five seed dumps, judged line by line (data/seeds,
expectations in tests/fixtures/seeds_expected)."""

from expectations import CleanerExpectations, seed_cases

CASES = seed_cases()


def test_every_seed_has_expectations():
    assert len(CASES) == 5, f"{len(CASES)} seed expectation files, want 5"


class TestSeeds(CleanerExpectations):
    cases = CASES
