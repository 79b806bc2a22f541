"""imgconf: contract tests, conformance reports and faithful emulators for image-recognition APIs."""

__version__ = "0.1.0"
