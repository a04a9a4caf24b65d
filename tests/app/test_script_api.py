"""The API a script reads (app/script_api.py), through gradio_client against the served app: one screen whatever the
number of methods, any method by name, and a sentence for every misuse."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import registry
from testkit.api import tab_event
from testkit.server import running_app
from tests.app.conftest import EXPLODER

pytestmark = pytest.mark.server

EXTRA = textwrap.dedent("""
    from registry import Context, Param, Plugin

    class Extra{number}(Plugin):
        name = "extra_{number}"
        title = "Extra {number}"
        description = "A plugin from an extra folder, to show the API page does not grow with the registry."
        family = "{family}"
        needs_layer = True
        reads = ("activations",)
        params = (Param("power", "float", 2.0, minimum=1.0, maximum=4.0, help="How strongly to favour peaks."),)

        def compute(self, ctx: Context):
            return ctx.activations[0].abs().pow(ctx.params["power"]).sum(dim=0)
""")


def test_the_api_page_is_one_screen(client):
    """72,933 characters when every method had three endpoints of its own; about 14,300 with the audit's two
    (/strategies, /concepts), which do not grow with the methods either."""
    text = client.view_api(print_info=False, return_format="str")
    assert len(text) < 25_000, f"{len(text)} characters"


@pytest.fixture(scope="module")
def ten_more(tmp_path_factory):
    """The session's app, with ten more plugins in its extra folder: its API page, read once."""
    folder = tmp_path_factory.mktemp("ten_more_plugins")
    (folder / "exploder.py").write_text(EXPLODER)  # the session server's own extra plugin, as there
    families = list(registry.FAMILIES)
    for number in range(10):
        (folder / f"extra_{number}.py").write_text(EXTRA.format(number=number, family=families[number % 5]))
    with running_app(extra_env={"CNNLENS_PLUGIN_PATH": str(folder), "CNNLENS_DEVICE": "cpu"}) as server:
        more = Client(server.url, verbose=False)
        yield more.view_api(print_info=False, return_format="str"), more.predict(api_name="/methods")


def test_ten_more_plugins_leave_the_api_page_as_it_was(client, ten_more):
    page, methods = ten_more
    assert {f"extra_{number}" for number in range(10)} <= {entry["name"] for entry in methods}  # they did load
    assert page == client.view_api(print_info=False, return_format="str")


def test_explain_gives_the_map_the_tabs_own_event_gives(client, samples):
    for method, inputs in (("gradcam", {"target": "968: cup", "opacity": 0.7}), ("saliency", {"reduce": "mean"})):
        picture = handle_file(str(samples["coffee"]))
        params = {k: v for k, v in inputs.items() if k != "target"}
        target = inputs.get("target", "predicted (top-1)")
        *_, data, raw_map, _ = client.predict(
            image=picture, method=method, params=params, target=target, api_name="/explain"
        )
        args, keywords = tab_event(method, picture, **inputs)
        *_, own_data, own_raw_map, _ = client.predict(*args, **keywords)
        assert np.array_equal(np.load(raw_map), np.load(own_raw_map)), method
        assert {k: v for k, v in data.items() if k != "seconds"} == {
            k: v for k, v in own_data.items() if k != "seconds"
        }


def test_methods_lists_each_parameter_as_declared(client):
    listed = {entry["name"]: entry for entry in client.predict(api_name="/methods")}
    assert set(listed) == {plugin.name for plugin in registry.list_plugins()} | {"exploder"}
    opacity = next(p for p in listed["gradcam"]["params"] if p["name"] == "opacity")
    assert (opacity["kind"], opacity["default"], opacity["minimum"], opacity["maximum"]) == ("float", 0.5, 0.0, 1.0)
    colormap = next(p for p in listed["gradcam"]["params"] if p["name"] == "colormap")
    assert colormap["choices"][0] == "jet" and {"label", "help"} <= set(colormap)
    assert listed["feature_maps"]["needs_target"] is False and listed["feature_maps"]["trust_checks"] is False


CAT = "cat"
MISUSES = [
    ("unknown method", {"method": "gradcamm"}, "There is no method called 'gradcamm'. The methods are: feature_maps"),
    ("no method", {"method": ""}, "Name a method, e.g. method='gradcam'"),
    ("unknown parameter", {"params": {"opactiy": 0.6}}, "Grad-CAM has no parameter opactiy; it has colormap, opacity"),
    ("wrong type", {"params": {"opacity": "lots"}}, "Heatmap opacity must be a number written with the digits 0-9"),
    ("out of range", {"params": {"opacity": 3}}, "Heatmap opacity must lie between 0 and 1; got 3"),
    ("not a choice", {"params": {"colormap": "rainbow"}}, "must be one of jet, turbo"),
    ("params not a mapping", {"params": [0.6]}, "params must be a mapping of Grad-CAM's parameter names to values"),
    ("reserved in params", {"params": {"layer": "blocks.1"}}, "Pass layer as an argument of its own"),
    ("a class for no class", {"method": "feature_maps", "target": 3}, "Feature maps explains no class"),
    ("a layer for no layer", {"method": "saliency", "layer": "blocks.1"}, "Saliency looks at no layer"),
    ("method not text", {"method": {"name": "gradcam"}}, r"method takes text \(a name\), not \{'name': 'gradcam'\}"),
    ("path string", {"image": "examples/cat.png"}, r"image takes a file, not a path or URL as a string.*handle_file"),
    ("file as backbone", {"backbone": CAT}, "backbone is a plain value, not a file: /explain takes no image"),
]


@pytest.mark.parametrize("inputs,message", [case[1:] for case in MISUSES], ids=[case[0] for case in MISUSES])
def test_each_misuse_of_explain_is_answered_in_a_sentence(client, samples, inputs, message):
    cat = handle_file(str(samples["cat"]))
    call = {"image": cat, "method": "gradcam", **{k: (cat if v == CAT else v) for k, v in inputs.items()}}
    with pytest.raises(AppError, match=message):
        client.predict(**call, api_name="/explain")


def test_misuses_of_the_other_endpoints_are_sentences_too(client, samples):
    cat = handle_file(str(samples["cat"]))
    with pytest.raises(AppError, match="backbone is a plain value, not a file: /learn_network takes no image"):
        client.predict(cat, api_name="/learn_network")  # an image where the endpoint takes none
    with pytest.raises(AppError, match=r"/learn_network takes 2 values \(backbone, allow_untrained\)"):
        client.predict("tf_efficientnet_lite0", False, "one more", api_name="/learn_network")
    with pytest.raises(AppError, match="image takes a file, not a path"):
        client.predict(str(samples["cat"]), api_name="/predict")
    with pytest.raises(AppError, match="Feature maps draws pictures, not a map, so it has no trust checks"):
        client.predict(image=cat, method="feature_maps", api_name="/trust")
    with pytest.raises(AppError, match="check must be one of faithfulness, sanity_check|not in the list of choices"):
        client.predict(image=cat, method="gradcam", check="deletion", api_name="/trust")
    with pytest.raises(AppError, match="not in the list of choices: \\['samples', 'zip'\\]"):
        client.predict(
            "the bundled samples", None, None, ["tf_efficientnet_lite0"], ["gradcam"], ["top1"], api_name="/evaluate"
        )
    assert client.predict(cat, api_name="/predict")["label"] == "282: tiger cat"  # and it keeps serving
