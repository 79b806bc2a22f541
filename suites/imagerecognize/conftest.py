from imgconf.testing.plugin import client_fixture

api = client_fixture("imagerecognize")
