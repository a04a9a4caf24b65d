"""What a model of one's own costs the app (issue 17): loading an upload against loading the packaged backbone.

    python -m benchmarks.bench_own_model              # print the section (markdown)
    python -m benchmarks.bench_own_model --write      # ... and replace its section in RESULTS.md
    python -m benchmarks.bench_own_model --repeat 9   # rounds (default 5)

The upload is testkit/own_models.py's real 3-class tf_efficientnet_lite0 (three ImageNet rows kept as its head),
saved as `three.safetensors` + `labels.txt` and taken through the app's own path: `app.own_models.add_upload`
(the checks and the copy into a private folder), then `own_models.load("upload:<token>")`, which goes through
`registry.load_backbone(weights=...)`. The yardstick is `registry.load_backbone("tf_efficientnet_lite0")` from
the package. The model cache is emptied before every load, so each one is a real load; the two cases alternate,
in rotating order, and the ratio is the median of per-round ratios (absolute times drift on a shared machine,
ratios timed moments apart do not).

Memory: with the package model already held, the extra that one upload costs: its folder on disk, its Backbone's
parameters and buffers (`nbytes`, what the cache's megabyte bound counts) and the process's resident set (VmRSS)
from before `add_upload` to after the load, measured before any timed round so freed memory is not reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import registry  # noqa: E402
from app import own_models  # noqa: E402
from benchmarks._common import interleaved, machine, median_ms, paired_ratio  # noqa: E402
from benchmarks.results import publish  # noqa: E402
from registry.models import _backbones  # noqa: E402
from testkit.own_models import ARCHITECTURE, save_three_class  # noqa: E402

HEADING = "## Loading a model of one's own (issue 17)"
MIB = 2**20


def clear_cache() -> None:
    with _backbones._CACHE_LOCK:
        _backbones._CACHE.clear()
    gc.collect()


def rss_bytes() -> int:
    """This process's resident set (VmRSS), bytes."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) * 1024


def folder_bytes(folder: Path) -> int:
    return sum(file.stat().st_size for file in folder.rglob("*") if file.is_file())


def memory(files: list[str]) -> dict:
    """The extra one upload costs with the package model already held."""
    clear_cache()
    registry.load_backbone(ARCHITECTURE, device="cpu")
    gc.collect()
    before = rss_bytes()
    model = own_models.add_upload(files, ARCHITECTURE, "memory")
    backbone = own_models.load(own_models.PREFIX + model.token, device="cpu")
    gc.collect()
    after = rss_bytes()
    result = {
        "disk": folder_bytes(model.weights.parent),
        "nbytes": backbone.nbytes,
        "rss": after - before,
        "classes": backbone.labels,
    }
    own_models.forget_session("memory")
    clear_cache()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        saved = save_three_class(Path(tmp))
        files = [str(saved["safetensors"]), str(saved["labels"])]
        mem = memory(files)
        checks: list[float] = []
        loads: list[float] = []

        def upload() -> float:
            clear_cache()
            session = f"bench-{len(checks)}"
            begin = time.perf_counter()
            model = own_models.add_upload(files, ARCHITECTURE, session)
            added = time.perf_counter()
            own_models.load(own_models.PREFIX + model.token, device="cpu")
            done = time.perf_counter()
            checks.append(added - begin)
            loads.append(done - added)
            own_models.forget_session(session)
            return done - begin

        def package() -> float:
            clear_cache()
            begin = time.perf_counter()
            registry.load_backbone(ARCHITECTURE, device="cpu")
            return time.perf_counter() - begin

        samples = interleaved({"upload": upload, "package": package}, repeat=args.repeat, warmup=1)
        checks, loads = checks[1:], loads[1:]  # the warm-up round's
        clear_cache()

    ratio, low, high = paired_ratio(samples["upload"], samples["package"])
    load_ratio, _, _ = paired_ratio(loads, samples["package"])
    upload_ms, package_ms = median_ms(samples["upload"]), median_ms(samples["package"])
    text = "\n".join(
        [
            HEADING,
            "",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}",
            f"- Command: `python -m benchmarks.bench_own_model`; median of {args.repeat} interleaved rounds after one "
            f"warm-up, model cache emptied before every load; run took {time.perf_counter() - started:.0f} s. "
            f"Upload: 3-class {ARCHITECTURE} ({', '.join(mem['classes'])}) as `three.safetensors` + `labels.txt`.",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| upload: `add_upload` (checks + copy) | {median_ms(checks):.0f} ms |",
            f"| upload: `own_models.load` | {median_ms(loads):.0f} ms |",
            f"| upload, both | {upload_ms:.0f} ms |",
            f'| package: `load_backbone("{ARCHITECTURE}")` | {package_ms:.0f} ms |',
            f"| upload / package (paired per round) | {ratio:.2f}× (25-75 %: {low:.2f}-{high:.2f}); load alone "
            f"{load_ratio:.2f}× |",
            f"| upload's folder on disk | {mem['disk'] / MIB:.1f} MiB |",
            f"| its Backbone's parameters + buffers (`nbytes`) | {mem['nbytes'] / MIB:.1f} MiB |",
            f"| RSS growth, one upload held beside the package model | {mem['rss'] / MIB:.1f} MiB |",
        ]
    )
    publish(HEADING, text, args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
