"""Finer-CAM (Zhang et al., 2025): Grad-CAM of the class's lead over its nearest rivals; checked against
pytorch-grad-cam's FinerCAM (with its default base, Grad-CAM).

The score explained is Σ_j p_j (y_c − α y_j) / Σ_j p_j over the rivals j, the classes whose logits lie nearest the
class's own (p: softmax probabilities, α: how much of the rivals is subtracted); the map is Grad-CAM's of it, so
it shows what sets the class apart from the ones it is most easily confused with, not what it shares with them.
"""

from __future__ import annotations

import torch

from registry import Context, GradientCam, Param
from registry.methods import HOW_TO_READ_A_CAM

_RIVALS = "How many of the classes scored nearest the chosen one it is compared with."
_ALPHA = "How much of the rivals' scores is subtracted: 0 gives Grad-CAM, 1 the paper's default."


class FinerCam(GradientCam):
    name = "finer_cam"
    title = "Finer-CAM"
    family = "cam"
    description = (
        "Explains what tells the class apart from its closest rivals: the classes the model scores most like it "
        "(a tabby against a tiger cat) are subtracted from its score before Grad-CAM weighs the channels, so "
        "the parts the classes share fade and the telling details stay."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " The notes name the rival classes; heat marks evidence for the class more than for them."
    )
    pitfalls = (
        "The rivals are the classes whose scores lie nearest, chosen per image: another image may be compared "
        "with other classes. With α = 0 the map is Grad-CAM's; a large α can leave little heat where the classes "
        "agree even when the object is there."
    )
    params = (
        Param("rivals", "int", 3, label="Rival classes", minimum=1, maximum=10, step=1, help=_RIVALS),
        Param("alpha", "float", 1.0, label="Comparison strength (α)", minimum=0.0, maximum=2.0, step=0.1, help=_ALPHA),
    )

    def channel_weights(self, ctx: Context) -> torch.Tensor:
        logits = ctx.shared.logits[0].detach().float()
        rivals = rival_classes(logits, ctx.target, ctx.params["rivals"])
        names = ", ".join(f"{ctx.backbone.labels[r]} ({float(logits[r]):.2f})" for r in rivals)
        ctx.notes.append(
            f"Compared with its nearest rivals: {names}; '{ctx.backbone.labels[ctx.target]}' scored "
            f"{float(logits[ctx.target]):.2f}."
        )
        lead = lambda scores: weighted_lead(scores, ctx.target, rivals, ctx.params["alpha"])  # noqa: E731
        return ctx.score_gradient(lead).mean(dim=(2, 3))


def rival_classes(logits: torch.Tensor, target: int, count: int) -> list[int]:
    """The `count` classes (other than `target`) whose logits lie nearest the target's."""
    distance = (logits - logits[target]).abs()
    distance[target] = float("inf")
    return distance.argsort()[: min(count, logits.numel() - 1)].tolist()


def weighted_lead(logits: torch.Tensor, target: int, rivals: list[int], alpha: float) -> torch.Tensor:
    """Σ_j p_j (y_c − α y_j) / Σ_j p_j over the rivals j, p the softmax of the logits (the weights are
    differentiated too, as the paper's code does)."""
    weights = logits.softmax(dim=-1)[rivals]
    return (weights * (logits[target] - alpha * logits[rivals])).sum() / (weights.sum() + 1e-9)
