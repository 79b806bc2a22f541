"""The suites run under imgconf's pytest plugin: `pytest suites/altum --target emulator-http` works alone."""

from imgconf.testing.plugin import *  # noqa: F403 - the plugin's hooks, registered for this directory
