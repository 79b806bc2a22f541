"""Schemathesis over the four operations (GET and POST on /api/v2/ and /api/v3/): real JPEG and PNG files.

The key is a parameter here, not an auth scheme: schemathesis generates a random string for it and the
vendor's `FormOrQueryKey` swaps the real key in on the wire. `sending_generated` tells it which cases keep
what was generated: those whose key is missing, empty or not a string, the negative cases about the key.
A case whose label is not what it is on the wire is skipped: a negative min_confidence "0" is the valid
integer 0 once written as form text, and the coverage phase labels `{"apikey": "", "type": ""}` positive.
A metered target gets two generated cases per operation: the request budget goes to the behaviour rules.
"""

from hypothesis import assume

from imgconf.testing import active, contract
from imgconf.vendors import imagerecognize

schema = contract.schema("imagerecognize", "imagerecognize.yaml")


@schema.parametrize()
@contract.settings(**({"max_examples": 2} if active().options.target.metered else {}))
def test_contract(case, api):
    assume(not imagerecognize.mislabelled(case))
    with imagerecognize.sending_generated(case):
        api.call_and_validate(case)
