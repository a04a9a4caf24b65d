"""Every setting CNN Lens reads from the environment, declared once: name, kind, default, range and what it does.

The rest of the code asks `value("CNNLENS_…")` and never reads `os.environ` for a `CNNLENS_*` name itself (a test
holds every module to that). A value is read when asked, so a setting changed for a test or a child process
applies at once; a value that does not parse or lies outside its range is a `SettingError` naming the setting, what
it got and what it takes, never a silent default. `check_all()` reads them all: the server calls it at start-up,
so an operator's typo stops the start with sentences instead of surfacing on the first request.

This is the lowest room of the registry: it imports nothing of CNN Lens.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KINDS",
    "SETTINGS",
    "Setting",
    "SettingError",
    "check_all",
    "value",
]

KINDS = ("int", "float", "bool", "text", "list")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_DEVICE = re.compile(r"(cpu|mps|cuda(:\d+)?)")
_SHOWN = 40  # characters of a bad value quoted back in a sentence


class SettingError(ValueError):
    """A setting's value does not parse or lies outside its range; the message names it and what it takes."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: how it parses, its default (None: unset means "none" or "automatic"), its bounds.

    Kinds: `int` and `float` (with `minimum` / `maximum`, inclusive unless `above` says the minimum is excluded),
    `bool` (1/0, true/false, yes/no, on/off), `text`, and `list` (split on `separator`, blanks dropped).
    """

    name: str
    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    above: bool = False  # the minimum itself is not allowed (a budget of 0 s)
    separator: str = ","
    pattern: re.Pattern | None = None  # text that must match it whole
    shown_default: str | None = None  # the default in words where the value alone does not say it

    def read(self, environ: Mapping[str, str] | None = None) -> Any:
        """The setting's value in `environ` (the process environment by default), parsed and checked."""
        raw = (os.environ if environ is None else environ).get(self.name)
        if raw is None or (raw.strip() == "" and self.kind != "list"):
            return self.default
        return self.parse(raw)

    def parse(self, raw: str) -> Any:
        """`raw` as this setting's kind, or a SettingError saying what it takes."""
        text = raw.strip()
        if self.kind == "list":
            return [part.strip() for part in raw.split(self.separator) if part.strip()]
        if self.kind == "text":
            if self.pattern is not None and not self.pattern.fullmatch(text):
                raise self._refuse(raw)
            return text
        if self.kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise self._refuse(raw)
        try:
            number = int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise self._refuse(raw) from None
        if number != number or not self._in_range(number):  # NaN is in no range
            raise self._refuse(raw)
        return number

    def takes(self) -> str:
        """What a valid value looks like, in words (for error sentences and the README table's check)."""
        if self.kind == "bool":
            return "1 or 0 (also true / false, yes / no, on / off)"
        if self.kind == "list":
            joined = "os.pathsep" if self.separator == os.pathsep else f"{self.separator!r}"
            return f"a list separated by {joined}"
        if self.kind == "text":
            return "cpu, cuda, cuda:N or mps" if self.pattern is _DEVICE else "text"
        whole = "a whole number" if self.kind == "int" else "a number"
        low = None if self.minimum is None else f"{'above' if self.above else 'at least'} {self.minimum:g}"
        high = None if self.maximum is None else f"at most {self.maximum:g}"
        return ", ".join(filter(None, [whole, low, high]))

    def default_text(self) -> str:
        """The default as the README's table shows it."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or self.default == []:
            return "—"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    def _in_range(self, number: float) -> bool:
        if self.minimum is not None and (number <= self.minimum if self.above else number < self.minimum):
            return False
        return self.maximum is None or number <= self.maximum

    def _refuse(self, raw: str) -> SettingError:
        shown = raw if len(raw) <= _SHOWN else f"{raw[:_SHOWN]}… ({len(raw)} characters)"
        return SettingError(
            f"The setting {self.name} is {shown!r}, but it takes {self.takes()} (default: {self.default_text()})."
        )


def _declare(*settings: Setting) -> dict[str, Setting]:
    return {setting.name: setting for setting in settings}


SETTINGS: dict[str, Setting] = _declare(
    # Where it runs and what it shows first.
    Setting(
        "CNNLENS_DEVICE",
        "text",
        None,
        "force a device: `cpu`, `cuda`, `cuda:1`, `mps`",
        pattern=_DEVICE,
        shown_default="CUDA, then MPS, then CPU",
    ),
    Setting(
        "CNNLENS_BACKBONE",
        "text",
        None,
        "the backbone selected when the app opens (a timm name, `hf-hub:org/name` or an operator's `local-dir:`)",
        shown_default="`tf_efficientnet_lite0`",
    ),
    Setting("CNNLENS_BACKBONES", "list", [], "the backbone list, comma-separated, shown before the curated shortlist"),
    Setting(
        "CNNLENS_MODEL_DIRS",
        "list",
        [],
        "model folders clients may name as `local-dir:<folder>`, separated by `os.pathsep` (the `local-dir:` names "
        "in the two settings above are allowed too)",
        separator=os.pathsep,
    ),
    # What a client may send.
    Setting(
        "CNNLENS_MAX_MODEL_UPLOAD_MB",
        "float",
        400.0,
        "the largest upload under *Your model* (checkpoint, config and labels together)",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_MAX_UPLOAD_MB",
        "float",
        400.0,
        "the largest single file any upload may be (Gradio stops it as it arrives); never below the model cap",
        minimum=0,
        above=True,
    ),
    # Memory.
    Setting(
        "CNNLENS_MAX_MODELS",
        "int",
        3,
        "how many loaded backbones stay in memory (least recently used is dropped)",
        minimum=1,
    ),
    Setting(
        "CNNLENS_MAX_MODEL_MB",
        "float",
        1024.0,
        "megabytes of parameters and buffers the loaded backbones may hold together (least recently used dropped; "
        "the newest always stays)",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_LARGE_DECODES",
        "int",
        2,
        "how many images above 4 megapixels are decoded at once",
        minimum=1,
        maximum=64,
    ),
    Setting(
        "CNNLENS_MALLOC_TUNING",
        "bool",
        True,
        "`0`: leave glibc's allocator settings alone (see *Safe to host*)",
    ),
    # How many at once.
    Setting("CNNLENS_CONCURRENCY", "int", 2, "how many light requests compute at once", minimum=1, maximum=64),
    Setting(
        "CNNLENS_HEAVY_CONCURRENCY",
        "int",
        1,
        "how many heavy requests (looping methods, Compare, trust checks, Evaluate) compute at once, in their own lane",
        minimum=1,
        maximum=64,
    ),
    Setting(
        "CNNLENS_HEAVY_PER_VISITOR",
        "int",
        2,
        "how many heavy requests one visitor (a page, an API client) may have waiting or running; the next is "
        "refused in words",
        minimum=1,
        maximum=64,
    ),
    # Plugins.
    Setting("CNNLENS_PLUGIN_PATH", "list", [], "extra plugin folders, separated by `os.pathsep`", separator=os.pathsep),
    Setting("CNNLENS_DISABLE_PLUGINS", "list", [], "plugin names to switch off, comma-separated"),
    Setting(
        "CNNLENS_DISABLE_PLUGIN_AUTOLOAD",
        "bool",
        False,
        "`1`: ignore plugins from installed packages",
        shown_default="—",
    ),
    # Time.
    Setting(
        "CNNLENS_TIME_BUDGET",
        "float",
        120.0,
        "seconds one computation of a looping method may run before it is stopped",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_REQUEST_BUDGET",
        "float",
        300.0,
        "seconds one whole request (a compare, a trust check, a Learn step, a map) may compute",
        minimum=0,
        above=True,
    ),
    # Files the server writes (registry/storage): one folder, each kind with a lifetime and a size bound.
    Setting(
        "CNNLENS_DATA_DIR",
        "text",
        None,
        "the one folder the server writes under: Gradio's cache (uploaded images, result files) unless "
        "`GRADIO_TEMP_DIR` is set, uploaded models, and the channel-picture cache",
        shown_default="`<system temp>/cnnlens`",
    ),
    Setting(
        "CNNLENS_FILES_TTL",
        "float",
        3600.0,
        "seconds an uploaded image or a result file (map, figure, CSV) is kept after it was written",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_FILES_MB",
        "float",
        2048.0,
        "megabytes uploaded images and result files may take together; the oldest go first",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_MODEL_UPLOADS_TTL",
        "float",
        3600.0,
        "seconds an uploaded model is kept after its last use (a page's uploads also go when it closes)",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_MODEL_UPLOADS_MB",
        "float",
        2048.0,
        "megabytes the uploaded models may take together; the least recently used go first",
        minimum=0,
        above=True,
    ),
    # What a channel looks for.
    Setting(
        "CNNLENS_FEATURE_VIS_CACHE",
        "text",
        None,
        "the folder where *What a channel looks for* keeps its pictures (by model, weights digest, layer, channel "
        "and settings)",
        shown_default="`<data folder>/feature-vis`",
    ),
    Setting(
        "CNNLENS_FEATURE_VIS_CACHE_MB",
        "float",
        512.0,
        "megabytes the channel pictures may take; the least recently used go first",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_FEATURE_VIS_STEPS",
        "int",
        128,
        "the Adam steps of *What a channel looks for* and of Learn's channel pictures when none are chosen (a Space "
        "on a slow CPU may lower it)",
        minimum=1,
        maximum=4096,
    ),
    Setting(
        "CNNLENS_CREATE_MAX_SIZE",
        "int",
        512,
        "the largest picture side (pixels) DeepDream and style transfer may make; larger sizes are refused, since "
        "memory grows with the side's square (see benchmarks/RESULTS.md for the peak at this size)",
        minimum=32,
        maximum=4096,
    ),
    Setting(
        "CNNLENS_PREWARM",
        "bool",
        None,
        "`1`: run *What a channel looks for* and Learn's step 3 once at start-up in the background (default "
        "backbone, the cat sample) so their pictures are cached; `0`: never",
        shown_default="on a Space (`SPACE_ID` set), else off",
    ),
    # Videos and the webcam (registry.explain_video, the Live tab).
    Setting(
        "CNNLENS_VIDEO_MAX_SECONDS",
        "float",
        120.0,
        "the longest video `explain_video` and the Live tab take (its declared duration, then its frames' times)",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_VIDEO_MAX_PIXELS",
        "int",
        2_073_600,
        "the most pixels a video frame may have (1920 × 1080 by default)",
        minimum=1,
    ),
    Setting(
        "CNNLENS_VIDEO_MAX_MB",
        "float",
        200.0,
        "the largest video file `explain_video` and the Live tab take",
        minimum=0,
        above=True,
    ),
    Setting(
        "CNNLENS_VIDEO_EVERY",
        "int",
        3,
        "explain every n-th frame of a video when the caller names no `every`",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "CNNLENS_LIVE_SECONDS",
        "float",
        60.0,
        "seconds one visitor's webcam stream is explained before it stops (a Space shares its processor)",
        minimum=0,
        above=True,
    ),
    # The concept test (registry.concept_test).
    Setting(
        "CNNLENS_CONCEPT_CACHE_MB",
        "float",
        512.0,
        "megabytes the concept test's cached layer activations may take (`concepts/` in the data folder, by model, "
        "weights digest, layer and image set); the least recently used go first",
        minimum=0,
        above=True,
    ),
)


def value(name: str) -> Any:
    """The current value of the setting `name` (a `CNNLENS_*` name declared in SETTINGS)."""
    return SETTINGS[name].read()


def check_all(environ: Mapping[str, str] | None = None) -> None:
    """Read every setting; raise one SettingError listing each bad value (the server calls this at start-up)."""
    problems = []
    for setting in SETTINGS.values():
        try:
            setting.read(environ)
        except SettingError as exc:
            problems.append(str(exc))
    if problems:
        raise SettingError(" ".join(problems))
