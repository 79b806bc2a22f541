"""`imgconf proxy`: real traffic between an application and a vendor, relayed unchanged and held to the spec.

One module per job: `relay` forwards bytes (HTTP/1.1 framing only, nothing re-encoded), `capture` keeps a
bounded copy of each exchange for checking, `checking` holds copies to the vendor's spec off the request
path (a queue and one worker), `requests` judges what the application itself sent, and `session` is the run
that turns all of it into the ordinary run outcome and publishes it every few minutes and on shutdown.
"""
