"""Safe to host: hostile file references, images and parameters, through the served app's endpoints.

Every refusal is a sentence the user sees, and the next request still succeeds.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import os

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from app.uploads import REFUSED
from testkit.api import explain, tab_event

pytestmark = pytest.mark.server
TIMEOUT = 60


@pytest.fixture(scope="module")
def server(app_server):
    return app_server


def raw_call(url: str, endpoint: str, data: list) -> str:
    """A hand-written API call (no gradio_client, no `meta` tag); returns the SSE reply's text."""
    with httpx.Client(base_url=url, timeout=TIMEOUT) as http:
        event = http.post(f"gradio_api/call/{endpoint}", json={"data": data}).raise_for_status().json()["event_id"]
        return http.get(f"gradio_api/call/{endpoint}/{event}").text


def gradcam_data(image: dict) -> list:
    return [image, "tf_efficientnet_lite0", "predicted (top-1)", False, "auto", "jet", 0.5]


def still_serving(client, samples) -> None:
    main, _, info, *_ = client.predict(**explain("gradcam", image=handle_file(str(samples["cat"]))))
    assert Image.open(main).width == 448 and "282: tiger cat" in info


def test_file_references_outside_the_uploads_get_one_reply_without_the_path(server, client, samples, tmp_path):
    existing = tmp_path / "private.png"
    existing.write_bytes(samples["cat"].read_bytes())
    replies = {
        name: raw_call(server.url, "gradcam", gradcam_data({"path": str(path)}))
        for name, path in (
            ("existing", existing),
            ("missing", tmp_path / "nothing.png"),
            ("system", "/etc/hostname"),
            ("relative", "../../etc/passwd"),
        )
    }
    for reply in replies.values():
        assert "event: error" in reply and REFUSED in reply
        assert str(tmp_path) not in reply and "private" not in reply and "etc" not in reply
    assert replies["existing"] == replies["missing"] == replies["system"]
    tagged = [
        raw_call(server.url, "gradcam", gradcam_data({"path": str(path), "meta": {"_type": "gradio.FileData"}}))
        for path in (existing, tmp_path / "nothing.png")
    ]  # Gradio's own check refuses these
    assert tagged[0] == tagged[1] and "event: error" in tagged[0] and str(tmp_path) not in tagged[0]
    assert REFUSED in tagged[0]  # Gradio's own refusal, in the app's sentence instead of {"error": null}
    with pytest.raises(AppError, match="or is no longer on the server"):  # the same through /predict
        client.predict({"path": str(existing)}, api_name="/predict")
    still_serving(client, samples)


def test_inside_the_upload_cache_a_non_image_gets_the_reply_a_missing_file_gets(server, client, samples):
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        uploaded = http.post("gradio_api/upload", files={"files": ("notes.png", b"not an image at all")}).json()[0]
    missing = os.path.join(os.path.dirname(uploaded), "other.png")
    replies = [
        raw_call(server.url, "gradcam", gradcam_data({"path": path, "meta": {"_type": "gradio.FileData"}}))
        for path in (uploaded, missing)
    ]
    assert "event: error" in replies[0] and REFUSED in replies[0]
    assert replies[0] == replies[1]  # no name, no detail tells them apart
    still_serving(client, samples)


def test_a_named_pipe_is_refused_at_once(server, client, samples, tmp_path):
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    reply = raw_call(server.url, "gradcam", gradcam_data({"path": str(pipe)}))  # httpx timeout: never hangs
    assert REFUSED in reply
    still_serving(client, samples)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "kind,message",
    [
        ("bomb", "the limit is 50 megapixels"),
        ("truncated", "could not be read as an image"),
        ("text", "could not be read as an image"),
    ],
)
def test_hostile_images_get_the_users_message(client, samples, tmp_path, kind, message):
    path = tmp_path / f"{kind}.png"
    if kind == "bomb":
        Image.new("1", (20_000, 20_000)).save(path)  # 400 megapixels in about 50 kB
    elif kind == "truncated":
        path.write_bytes(samples["cat"].read_bytes()[:5000])
    else:
        path.write_text("GIF89a? no, just text")
    with pytest.raises(AppError, match=message):
        client.predict(**explain("gradcam", image=handle_file(str(path))))
    still_serving(client, samples)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"target": "²"}, "is not a class: choose one from the list"),
        ({"target": "٣"}, "is not a class: choose one from the list"),
        ({"opacity": "inf"}, "Heatmap opacity must be a number written with the digits 0-9, not 'inf'"),
        ({"opacity": "nan"}, "Heatmap opacity must be a number written with the digits 0-9, not 'nan'"),
        ({"layer": "classifier"}, "Layer 'classifier' of tf_efficientnet_lite0 has no spatial output"),
        ({"layer": "global_pool"}, "has no spatial output"),
    ],
)
def test_odd_parameters_get_a_clear_sentence(client, samples, change, message):
    with pytest.raises(AppError, match=message):
        client.predict(**explain("gradcam", image=handle_file(str(samples["cat"])), **change))
    still_serving(client, samples)


@pytest.mark.parametrize("count", ["inf", "nan", "²"])
def test_odd_counts_are_refused_clearly(client, samples, count):
    with pytest.raises(AppError, match="Channels shown must be a number written with the digits 0-9"):
        client.predict(**explain("feature_maps", image=handle_file(str(samples["cat"])), count=count))


def test_an_infinite_number_is_refused_clearly(server, samples):
    # gradio_client will not send a float infinity; a hand-written call can (JSON's Infinity).
    image = json.dumps({"path": str(samples["cat"])})  # the examples folder may be named directly
    body = f'{{"data": [{image}, "tf_efficientnet_lite0", null, false, "auto", Infinity, "mean", false, "viridis"]}}'
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        event = (
            http.post("gradio_api/call/feature_maps", content=body, headers={"content-type": "application/json"})
            .raise_for_status()
            .json()["event_id"]
        )
        reply = http.get(f"gradio_api/call/feature_maps/{event}").text
    assert "Channels shown must be a finite number, not inf" in reply


def test_concurrent_mixed_requests_equal_their_solo_results(server, client, samples):
    calls = [
        ("gradcam", "cat", {}),
        ("saliency", "coffee", {}),
        ("feature_maps", "rocket", {"count": 4}),
        ("gradcam", "coffee", {"target": "968: cup"}),
        ("saliency", "astronaut", {}),
        ("gradcam", "rocket", {"layer": "blocks.4"}),
        ("feature_maps", "cat", {"count": 2}),
        ("gradcam", "camera-gray", {}),
        ("smoothgrad", "cat", {"samples": 4}),  # noise methods seed the shared generators: alone, not beside others
        ("gradient_shap", "coffee", {"samples": 4}),
    ] * 2

    def pixels(name, image, extra, visitor=client):
        args, keywords = tab_event(name, handle_file(str(samples[image])), **extra)  # the page's Run, in its lane
        main, gallery, *_ = visitor.predict(*args, **keywords)
        return [np.asarray(Image.open(path)) for path in [main] + [item["image"] for item in gallery]]

    solo = {(name, image): pixels(name, image, extra) for name, image, extra in calls[: len(calls) // 2]}
    heavy = {"smoothgrad", "gradient_shap"}  # a visitor may queue two heavy maps: each heavy call its own client
    visitors = [Client(server.url, verbose=False) if name in heavy else client for name, *_ in calls]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:  # each call twice: 20 at once
        futures = [pool.submit(pixels, *call, visitor) for call, visitor in zip(calls, visitors)]
        together = [future.result(timeout=300) for future in futures]
    for (name, image, _), result in zip(calls, together):
        expected = solo[(name, image)]
        assert len(result) == len(expected) and all(np.array_equal(a, b) for a, b in zip(result, expected))


@pytest.mark.parametrize(
    "endpoint,inputs,message",
    [
        ("make_it_fail", {"strength": "inf"}, "Strength must be a number written with the digits 0-9, not 'inf'"),
        ("make_it_fail", {"strength": 7}, "Strength must lie between 0.1 and 1"),
        (
            "explain",
            {"method": "gradcam", "backbone": "resnet18.foo"},
            "resnet18 has no weights tagged 'foo'. Its tags",
        ),
        ("explain", {"method": "gradcam", "allow_untrained": "yes"}, "must be true or false, not 'yes'"),
        ("predict", {"backbone": "vit_huge_patch14_224", "allow_untrained": True}, "holds 631 M parameters"),
    ],
)
def test_the_smaller_holes_are_sentences(client, samples, endpoint, inputs, message):
    with pytest.raises(AppError, match=message):
        client.predict(image=handle_file(str(samples["cat"])), api_name=f"/{endpoint}", **inputs)
    still_serving(client, samples)


def test_a_compare_checkbox_takes_true_or_false_only(client, samples):
    with pytest.raises(AppError, match="must be true or false, not 'yes'"):
        client.predict(
            handle_file(str(samples["cat"])),
            ["tf_efficientnet_lite0"],
            ["gradcam"],
            ["predicted (top-1)"],
            ["default"],
            False,
            True,
            "yes",
            api_name="/compare",
        )


@pytest.mark.parametrize(
    "classes,layers,message",
    [
        ([f"{i}: class" for i in range(40_000)], ["default"], "Compare at most 48 classes at once; got 40000"),
        ([f"{i}: class" for i in range(1_500)], [f"layer{i}" for i in range(1_500)], "at most 48 classes"),
    ],
)
def test_a_compare_over_its_limits_is_refused_before_anything_is_built(client, samples, classes, layers, message):
    with pytest.raises(AppError, match=message):
        client.predict(
            handle_file(str(samples["cat"])),
            ["tf_efficientnet_lite0"],
            ["gradcam"],
            classes,
            layers,
            False,
            True,
            False,
            api_name="/compare",
        )
    still_serving(client, samples)


def test_a_long_target_is_not_echoed_back(client, samples):
    with pytest.raises(AppError) as refused:
        client.predict(**explain("gradcam", image=handle_file(str(samples["cat"])), target="x" * 1_000_000))
    assert "is not a class" in str(refused.value) and len(str(refused.value)) < 400
    still_serving(client, samples)


EVALUATE = ["zip", None, None, ["tf_efficientnet_lite0"], ["gradcam"], ["top1"]]


def test_file_references_to_evaluate_and_upload_model_get_the_one_reply(server, client, samples, tmp_path):
    """Without `meta` Gradio refused these in its own validation, and with it outside its cache: both reached the
    client as {"error": null}. Every one now gets the sentence any other bad file reference gets."""
    existing = tmp_path / "private.zip"
    existing.write_bytes(b"PK\x05\x06" + bytes(18))
    meta = {"meta": {"_type": "gradio.FileData"}}
    replies = []
    for path in (existing, tmp_path / "nothing.zip", "/etc/hostname"):
        for tag in ({}, meta):
            reference = {"path": str(path), **tag}
            replies.append(raw_call(server.url, "evaluate", [EVALUATE[0], reference, *EVALUATE[2:]]))
            replies.append(raw_call(server.url, "upload_model", [[reference], "resnet18"]))
    assert "event: error" in replies[0] and REFUSED in replies[0] and str(tmp_path) not in replies[0]
    assert set(replies) == {replies[0]}
    still_serving(client, samples)


def test_a_long_backbone_name_is_quoted_short(client, samples):
    name = "x" * 10_000
    with pytest.raises(AppError) as refused:
        client.predict(**explain("gradcam", image=handle_file(str(samples["cat"])), backbone=name))
    assert "is not a timm model" in str(refused.value) and "(10,000 characters)" in str(refused.value)
    assert len(str(refused.value)) < 300
    with pytest.raises(AppError) as refused:
        client.predict(
            handle_file(str(samples["cat"])),
            [name],
            ["gradcam"],
            ["predicted (top-1)"],
            ["default"],
            False,
            True,
            False,
            api_name="/compare",
        )
    assert "longer than any backbone's name" in str(refused.value) and len(str(refused.value)) < 300
    still_serving(client, samples)
