"""Schemathesis over both operations: generated JPEG/PNG uploads and usable image URLs, every check."""

from hypothesis import strategies as st
from schemathesis import GenerationMode

from imgconf.testing import contract
from imgconf.testing.client import current_client

schema = contract.schema("altum", "altum-labelling.yaml")


@schema.hook
def flatmap_case(context, case):
    """Half the valid /labelling/url cases carry a URL that really leads to an image."""
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if case.operation.path != "/labelling/url" or not positive or not isinstance(case.body, dict):
        return contract.unchanged(case)
    api = current_client("altum")

    def with_url(url):
        case.body = {**case.body, "url": url}
        return case

    return st.one_of(contract.unchanged(case), api.image_urls().map(with_url))


@schema.parametrize()
@contract.settings()
def test_contract(case, api):
    api.call_and_validate(case)
