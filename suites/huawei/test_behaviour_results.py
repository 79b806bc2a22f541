"""What a schema cannot say about the tags: language, threshold and limit honoured, v1/v2 differences,
determinism, URL and base64 agreeing, request ids and latency.

Threshold and limit are checked against a baseline: the same image at threshold 0 and the largest
limit. A threshold T must then give exactly the baseline's tags at or above T, and a limit L exactly
its L best, so a service that ignores either, or drops or invents tags, is caught.
"""

import pytest
from hypothesis import given, settings

from imgconf import images
from imgconf.testing import active, latency, violated
from imgconf.vendors.huawei import probes

V1 = probes.V1_PATH
SAMPLE = images.render(96, 72, seed=31, fmt="jpeg")


def corpus(api):
    """Fixed images; few on live targets, where every request counts."""
    size = active().options.profile.corpus // 4 if api.local else 1
    return probes.corpus(size)


_BASELINES: dict[tuple[str, str], list] = {}


def tags_of(response):
    assert response.status_code == 200, f"{response.status_code} {response.text[:200]}"
    return response.json()["result"]["tags"]


def scored(tags):
    """(English name, confidence) of each tag, whichever version and language answered."""
    return [(tag["i18n_tag"]["en"], float(tag["confidence"])) for tag in tags]


def baseline(api, path, data):
    """Every tag of an image (threshold 0, the largest limit), asked once per image and version."""
    key = (path, images.digest(data))
    if key not in _BASELINES:
        limit = -1 if path == V1 else 150
        response = api.post(path, json=probes.image_body(data, threshold=0, limit=limit))
        api.validate(response)
        _BASELINES[key] = scored(tags_of(response))
    return _BASELINES[key]


# -- shape --------------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.result.shape")
@probes.local_only("the contract tests hold every answer to the schemas")
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_corpus_gets_documented_answers(api, clients, version):
    path = V1 if version == "v1" else clients.v2()
    for name, data, _ in corpus(api):
        for language in ("zh", "en"):
            response = api.post(path, json=probes.image_body(data, language=language, threshold=0))
            violated("huawei.request.accepted", response.status_code == 200, f"{name}: {response.status_code}")
            api.validate(response)


@pytest.mark.rule("huawei.v2.confidence-string")
def test_v1_and_v2_differ_as_documented(api, clients):
    v1 = tags_of(api.post(V1, json=probes.image_body(SAMPLE, threshold=0)))
    v2 = tags_of(api.post(clients.v2(), json=probes.image_body(SAMPLE, threshold=0)))
    assert v1 and v2, "the sample got no tags at threshold 0"
    for tag in v1:
        violated(
            "huawei.v1.confidence-number",
            isinstance(tag["confidence"], int | float) and not isinstance(tag["confidence"], bool),
            f"v1 confidence {tag['confidence']!r} is not a number",
        )
        violated("huawei.v1.tag-fields", "i18n_type" not in tag and "instances" not in tag, f"v1 tag {tag}")
    for tag in v2:
        assert isinstance(tag["confidence"], str), f"v2 confidence {tag['confidence']!r} is not a string"
        violated("huawei.v2.tag-fields", "i18n_type" in tag and "instances" in tag, f"v2 tag {tag}")


@pytest.mark.rule("huawei.v2.instances")
@probes.local_only("the contract tests send generated images")
@settings(max_examples=6, database=None, deadline=None)
@given(item=probes.accepted_images(max_side=400))
def test_generated_images_get_boxes_inside_them(api, clients, item):
    data, fmt = item
    response = api.post(clients.v2(), json=probes.image_body(data, threshold=0))
    violated("huawei.request.accepted", response.status_code == 200, f"a {fmt} got {response.status_code}")
    api.validate(response)  # huawei_boxes_inside holds every box to the image sent


# -- language -----------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.result.language")
@probes.local_only("the vendor check holds every answer's names to its language")
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_default_language_is_chinese(api, clients, version):
    path = V1 if version == "v1" else clients.v2()
    tags = tags_of(api.post(path, json=probes.image_body(SAMPLE, threshold=0)))
    assert tags
    for tag in tags:
        assert tag["tag"] == tag["i18n_tag"]["zh"], f"no language given, but tag {tag['tag']!r} is not the zh name"


@pytest.mark.rule("huawei.result.language-switch")
@pytest.mark.parametrize("version", probes.on_live(["v2", "v1"], 1))
def test_switching_language_renames_the_same_tags(api, clients, version):
    path = V1 if version == "v1" else clients.v2()
    for name, data, _ in corpus(api)[:3]:
        answers = {}
        for language in ("zh", "en"):
            response = api.post(path, json=probes.image_body(data, language=language))
            api.validate(response)
            answers[language] = tags_of(response)
        assert scored(answers["zh"]) == scored(answers["en"]), f"{name}: zh and en name different tags"
        for language, tags in answers.items():
            for tag in tags:
                violated(
                    "huawei.result.language",
                    tag["tag"] == tag["i18n_tag"][language],
                    f"{name} in {language}: tag {tag['tag']!r}",
                )


# -- threshold and limit -------------------------------------------------------------------------------


@pytest.mark.rule("huawei.result.threshold")
@pytest.mark.parametrize(
    ("version", "threshold"),
    probes.on_live([(version, threshold) for threshold in (60, 25, 85.5) for version in ("v2", "v1")], 1),
)
def test_the_threshold_keeps_exactly_the_tags_above_it(api, clients, version, threshold):
    path = V1 if version == "v1" else clients.v2()
    for name, data, _ in corpus(api)[:3]:
        everything = baseline(api, path, data)
        response = api.post(path, json=probes.image_body(data, threshold=threshold, limit=150))
        api.validate(response)
        got = scored(tags_of(response))
        expected = [item for item in everything if item[1] >= threshold]
        assert sorted(got) == sorted(expected), f"{name} at threshold {threshold}: {got} instead of {expected}"


@pytest.mark.rule("huawei.result.limit")
@pytest.mark.parametrize(
    ("version", "limit"), probes.on_live([(version, limit) for limit in (3, 1, 10) for version in ("v2", "v1")], 1)
)
def test_the_limit_keeps_the_best_tags(api, clients, version, limit):
    path = V1 if version == "v1" else clients.v2()
    for name, data, _ in corpus(api)[:3]:
        everything = baseline(api, path, data)
        response = api.post(path, json=probes.image_body(data, threshold=0, limit=limit))
        api.validate(response)
        got = scored(tags_of(response))
        assert len(got) == min(limit, len(everything)), f"{name}: {len(got)} tags for limit {limit}"
        assert all(item in everything for item in got), f"{name}: {got} are not all in {everything}"
        left_out = [item for item in everything if item not in got]
        if got and left_out:
            assert min(c for _, c in got) >= max(c for _, c in left_out), f"{name}: limit {limit} kept {got}"


@pytest.mark.rule("huawei.result.limit")
@pytest.mark.parametrize(
    ("version", "threshold", "limit"), probes.on_live([("v2", 60, 50), ("v1", 0, 30), ("v2", 0, 50)], 1)
)
def test_the_defaults_apply_when_nothing_is_asked(api, clients, version, threshold, limit):
    """v1.0: threshold 0, limit 30; v2: threshold 60, limit 50 (sent without them, or with only threshold 0)."""
    path = V1 if version == "v1" else clients.v2()
    for name, data, _ in corpus(api)[:3]:
        everything = baseline(api, path, data)
        fields = {} if threshold == (0 if version == "v1" else 60) else {"threshold": threshold}
        response = api.post(path, json=probes.image_body(data, **fields))
        api.validate(response)
        got = scored(tags_of(response))
        passing = [item for item in everything if item[1] >= threshold]
        violated("huawei.result.threshold", all(c >= threshold for _, c in got), f"{name}: {got}")
        assert len(got) == min(limit, len(passing)), f"{name}: {len(got)} tags, expected {min(limit, len(passing))}"


# -- sameness ------------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.result.deterministic")
@probes.local_only("an assumption, and two requests an image")
def test_the_same_image_gets_the_same_tags(api, clients):
    for name, data, _ in corpus(api)[:3]:
        first = api.post(clients.v2(), json=probes.image_body(data, threshold=0)).json()
        second = api.post(clients.v2(), json=probes.image_body(data, threshold=0)).json()
        assert first == second, f"{name}: {first} then {second}"


@pytest.mark.rule("huawei.result.url-matches-upload")
def test_a_url_gets_the_tags_its_bytes_get(api, clients):
    api.needs_callback("needs the same bytes by base64 and by URL, served from the suite's image server")
    for name, data, fmt in corpus(api)[:3]:
        sent = api.post(clients.v2(), json=probes.image_body(data, threshold=0)).json()
        fetched = api.post(clients.v2(), json={"url": api.publish(data, fmt), "threshold": 0}).json()
        assert sent == fetched, f"{name}: base64 gave {sent}, URL gave {fetched}"


# -- transport -----------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.transport.request-id")
@probes.local_only("the vendor check holds every answer to it")
def test_every_answer_carries_a_request_id(api, clients):
    answers = {
        "200": api.post(clients.v2(), json=probes.image_body(SAMPLE)),
        "400": api.post(clients.v2(), json={"language": "en"}),
        "401": api.post(clients.v2(), json=probes.image_body(SAMPLE), auth="none"),
        "404": api.get("/v2/image/tagging"),
        "iam": api.get("/v3/projects", params={"name": clients.project_name}),
    }
    for label, response in answers.items():
        value = response.headers.get("X-Request-Id")
        assert value, f"the {label} answer ({response.status_code}) has no X-Request-Id"
    assert len({response.headers.get("X-Request-Id") for response in answers.values()}) == len(answers)


@pytest.mark.rule("huawei.transport.latency")
def test_answers_arrive_within_the_latency_budget(api, clients):
    body = probes.image_body(SAMPLE)
    latency.assert_within_budget(api, lambda: api.post(clients.v2(), json=body), "huawei.transport.latency")
