"""Score-CAM (Wang et al., 2020): channel weights from the class score of the image masked by each channel.

L = ReLU(Σ_k w_k A^k) with w_k = softmax_k(y_c(x ⊙ norm(upsample(A^k)))) over the channels scored.

Gradient-free and costly (one forward pass per channel), so only the strongest channels are
scored, in batches of bounded size: memory grows with the batch, never with the channel count.
"""

import torch
import torch.nn.functional as F

from registry import Context, PerturbationCam
from registry.methods import HOW_TO_READ_A_CAM, batch_param, blank_channels, channel_cap_param, top_channels


class ScoreCam(PerturbationCam):
    name = "scorecam"
    title = "Score-CAM"
    family = "cam"
    description = (
        "Uses no gradients: each channel of the layer is turned into a mask, the image is shown to the "
        "model through that mask, and the class score it then gets becomes the channel's weight. It "
        "costs one forward pass per channel, so only the most active channels are scored (see the cap)."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " Each channel's weight is the score the model gives the image seen through that channel's mask."
    )
    pitfalls = (
        "Only the most active channels are scored (the cap): a channel left out counts as zero. It is slow, "
        "and the masked images are unusual inputs, so a channel can score high for reasons the full image "
        "does not share."
    )
    quick_params = {"channels": 8}  # the contract suite's settings: the same code, fewer passes
    params = (
        channel_cap_param(
            "Channels scored (cap)",
            "The most active channels are scored, one masked forward pass each; "
            "more is slower and closer to the full method.",
        ),
        batch_param(
            4,
            64,
            "Bounds memory: this many masked images go through the model at once. 4 is fastest on a "
            "2-core CPU (bigger batches overflow its cache); raise it on a GPU.",
            label="Masked images per batch",
        ),
    )

    def channel_weights(self, ctx: Context):
        activations = ctx.activations.float()
        chosen = top_channels(activations, ctx.params["channels"])
        maps = activations[0, chosen]
        # A channel that is zero everywhere masks out the whole image: all such channels show the model the
        # same black input, so one forward pass scores them all (a ReLU layer often holds hundreds).
        blank = blank_channels(activations, chosen)
        live = (~blank).nonzero()[:, 0]
        batch = ctx.params["batch_size"]
        batches = [live[start : start + batch] for start in range(0, len(live), batch)]
        scores = torch.empty(len(chosen))
        blanks = scored = int(blank.sum())
        with torch.no_grad():
            if blanks:
                scores[blank.cpu()] = float(ctx.model(torch.zeros_like(ctx.x))[0, ctx.target])
                ctx.step(scored, len(chosen))  # progress counts channels scored, as the cap does
            for positions in batches:
                masks = _unit_masks(maps[None, positions], ctx.x.shape[-2:]).to(ctx.x.dtype)
                logits = ctx.model(ctx.x * masks[0, :, None])
                scores[positions.cpu()] = logits[:, ctx.target].float().cpu()
                scored += len(positions)
                ctx.step(scored, len(chosen))
        ctx.notes.append(
            f"Score-CAM scored {len(chosen)} of {activations.shape[1]} channels with "
            f"{len(live) + (blanks > 0)} masked forward passes"
            + (f" ({blanks} of them are zero everywhere: one pass scored those)." if blanks else ".")
        )
        weights = torch.zeros(activations.shape[1])  # the channels not scored weigh nothing
        weights[chosen.cpu()] = scores.softmax(dim=0)
        return weights


def _unit_masks(activations: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Channels upsampled to the input size and stretched to [0, 1] each, as in the paper."""
    masks = F.interpolate(activations, size=tuple(size), mode="bilinear", align_corners=True)
    flat = masks.flatten(2)
    low, high = flat.amin(dim=2)[..., None, None], flat.amax(dim=2)[..., None, None]
    return (masks - low) / (high - low + 1e-8)
