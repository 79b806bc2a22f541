"""The ground layer: what every request of every target passes through, importing nothing above it.

exchange (one request and its answer), recorder (who saw what), budget and pacer (limits a live run
keeps), guard (the adapter that applies them, the host guard and the circuit breaker), multipart (reading
bodies back), replay keys and cassettes (record and replay). The report, the targets, the suites and the
runner stand on it; it stands on nothing of imgconf's but errors and redaction.
"""
