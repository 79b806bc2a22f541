"""ASGI middleware the emulators share, one per module: `latency` (a drift) and `disturbances` (options)."""
