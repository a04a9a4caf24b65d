"""A wrong case to look at: the prediction beside the truth, for "correct vs incorrect" (Compare and Learn).

    case = registry.find_wrong_case(backbone, "examples/cat.png")
    case.sample.file, case.predicted, case.true, case.runner_up   # clock.png, 971, 892, False on lite0

A correctly classified image teaches nothing about mistakes, so the finder looks for one: the image itself when it
is a bundled sample the backbone gets wrong, else the first such sample in SOURCES.md order; when the backbone
gets every labelled sample right, the runner-up class of the image stands in for a wrong answer, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.imaging import samples
from registry.models import Backbone

__all__ = ["WrongCase", "find_wrong_case"]


@dataclass(frozen=True)
class WrongCase:
    """A prediction and the class to set beside it: the true class, or the runner-up when `runner_up`."""

    image: Any  # the picture to show: a bundled sample's path, or the image given
    sample: samples.Sample | None  # the bundled sample it is, if any
    predicted: tuple[int, str, float]  # the top-1: (class, label, probability)
    true: int  # the true class the model rates highest; the runner-up's class when `runner_up`
    true_label: str
    rank: int  # where `true` sits in the model's ranking, 1 for the top-1
    runner_up: bool  # no labelled sample is wrong here: the runner-up stands in for a wrong answer

    @property
    def sentence(self) -> str:
        """What the case is, in words, e.g. "clock.png is 892 wall clock; tf_… says 971 bubble (…)"."""
        index, label, probability = self.predicted
        said = f"{index} {label.split(',')[0]} (p = {probability:.2f})"
        other = f"{self.true} {self.true_label.split(',')[0]}"
        if self.runner_up:
            where = f"{self.sample.file}" if self.sample else "this image"
            return (
                f"the model gets every labelled sample right, so the runner-up class {other} stands in for a wrong "
                f"answer on {where}, beside its prediction {said}"
            )
        return f"{self.sample.file} is {self.sample.truth}; the model says {said}, and ranks {other} {self.rank}"


def find_wrong_case(
    backbone: Backbone, image: Any = None, runner_up: bool = True, among: list[samples.Sample] | None = None
) -> WrongCase | None:
    """A case `backbone` gets wrong: `image` if it is a wrong bundled sample, else the first wrong sample; else (with
    `runner_up`) the runner-up class on `image` (or on the first labelled sample without one). A model whose classes
    are not ImageNet's has no labelled sample (the samples are labelled with ImageNet's classes): only the runner-up
    on `image`. `among` limits the search to those samples (a person's choice). None when nothing is found."""
    own = samples.identify(image) if isinstance(image, (str, Path)) else None
    pool = list(samples.labelled_samples().values()) if among is None else among
    candidates = ([own] if own and own in pool else []) + [s for s in pool if s != own]
    if not backbone.imagenet:
        candidates = []
    for sample in candidates:
        if not sample.classes or not sample.path.is_file():
            continue
        ranking = backbone.predict(sample.path, k=backbone.num_classes)
        if samples.judge(sample, ranking[0][0]).right is False:
            rank = {index: position + 1 for position, (index, _label, _p) in enumerate(ranking)}
            true = min(sample.classes, key=rank.__getitem__)  # the true class the model rates highest
            return WrongCase(sample.path, sample, ranking[0], true, backbone.labels[true], rank[true], False)
    if not runner_up:
        return None
    shown = image if image is not None else next((s.path for s in candidates if s.classes), None)
    if shown is None or backbone.num_classes < 2:
        return None
    ranking = backbone.predict(shown, k=2)
    second = ranking[1]
    sample = own if image is not None else samples.identify(shown)
    return WrongCase(shown, sample, ranking[0], second[0], second[1], 2, True)
