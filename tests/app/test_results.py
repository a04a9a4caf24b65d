"""Result files: each run's written once, to a folder of its own inside Gradio's cache."""

from pathlib import Path

import numpy as np
from PIL import Image

from app import results


def test_a_runs_files_get_readable_names_in_a_folder_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    picture = Image.new("RGB", (8, 8), (10, 200, 10))
    heat = np.arange(6, dtype=np.float64).reshape(2, 3)
    first = results.save_run("gradcam_resnet50.a1/in1k_282", {"overlay": picture}, {"raw_map": heat})
    second = results.save_run("gradcam_resnet50.a1/in1k_282", {"overlay": picture}, {"raw_map": heat})
    assert Path(first["raw_map"]).name == "gradcam_resnet50.a1_in1k_282_raw_map.npy"  # no slash reaches a file name
    assert Path(first["overlay"]).name == "gradcam_resnet50.a1_in1k_282_overlay.png"
    assert Path(first["raw_map"]).parent != Path(second["raw_map"]).parent  # two runs never share a file
    assert Path(first["raw_map"]).parent.parent == results.results_folder()
    saved = np.load(first["raw_map"])
    assert saved.dtype == np.float32 and np.array_equal(saved, heat)
    assert Image.open(first["overlay"]).getpixel((3, 3)) == (10, 200, 10)
