"""A stdlib HTTP server served from a daemon thread, stopped without socketserver's half-second wait.

`BaseServer.shutdown` sets a flag and waits for `serve_forever` to see it, which happens only when its
`select` times out: every `poll_interval`, 0.5 s by default. The suite's image server stops at the end of
every run, so that default cost each run 0.4-0.5 s of doing nothing (py-spy: 13% of an Altum full run's
wall); a shorter poll costs a wake-up of an idle thread 20 times a second.
"""

from __future__ import annotations

import threading
from socketserver import BaseServer

POLL_INTERVAL = 0.05


def serve(server: BaseServer, name: str) -> threading.Thread:
    """Serve `server` from a daemon thread named `name`, started."""
    thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), name=name, daemon=True)
    thread.start()
    return thread


def stop(server: BaseServer) -> None:
    """Stop serving (within POLL_INTERVAL) and close the listening socket."""
    server.shutdown()
    server.server_close()
