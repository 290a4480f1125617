"""pytest wiring for tests/python: fixtures live in nimbus_fixtures.py."""

from nimbus_fixtures import *  # noqa: F401,F403


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
