"""ZeroGPU: with a stand-in `spaces` package, every event that loads a model or computes is wrapped,
and importing the app touches no CUDA (run in a fresh interpreter, as a Space starts)."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = r"""
import json, sys, types
import torch

touched = []
for name in ("init", "_lazy_init", "is_available", "device_count", "current_device", "set_device"):
    original = getattr(torch.cuda, name)
    def spy(*args, _name=name, _original=original, **kwargs):
        touched.append(_name)
        return _original(*args, **kwargs)
    setattr(torch.cuda, name, spy)

wrapped = set()
spaces = types.ModuleType("spaces")
def GPU(duration=60):
    def wrap(fn):
        def inner(*args, **kwargs):
            return fn(*args, **kwargs)
        inner.__name__ = getattr(fn, "__name__", "fn")
        wrapped.add(id(inner))
        return inner
    return wrap
spaces.GPU = GPU
sys.modules["spaces"] = spaces

import app.ui
at_import = list(touched)
demo = app.ui.build_app()
def chain(fn):  # the event function and what it wraps (app.requests.bounded sits outside spaces.GPU)
    while fn is not None:
        yield fn
        fn = getattr(fn, "__wrapped__", None)
events = [{"name": getattr(f.fn, "__name__", "?"), "api": f.api_name,
           "wrapped": any(id(fn) in wrapped for fn in chain(f.fn))}
          for f in demo.fns.values() if f.fn is not None]
print(json.dumps({"at_import": at_import, "at_build": touched[len(at_import):], "events": events}))
"""
# clear results, pick a class, show a sample; after an upload offer it in the list, put a Hub id in the backbone field,
# forget a closed page's uploads (files and tokens, no model), list the methods' declarations (/methods)
UI_ONLY = {"<lambda>", "_choose_target", "load_example", "choose_upload", "hub_model", "forget_session", "list_methods"}


def test_every_computing_event_is_wrapped_and_import_touches_no_cuda():
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    env.pop("CNNLENS_DEVICE", None)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["at_import"] == [], "importing the app touched CUDA"
    assert not {"init", "_lazy_init", "set_device", "current_device"} & set(report["at_build"])
    computing = [event for event in report["events"] if event["name"] not in UI_ONLY]
    assert {event["api"] for event in computing} >= {"predict", "compare", "gradcam", "saliency", "feature_maps"}
    unwrapped = [event for event in computing if not event["wrapped"]]
    assert unwrapped == [], f"events that may touch CUDA outside spaces.GPU: {unwrapped}"
    assert all(event["name"] in UI_ONLY for event in report["events"] if not event["wrapped"])
