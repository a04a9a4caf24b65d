"""Ablation-CAM (Desai and Ramaswamy, 2020): a channel's weight is the score lost when it is zeroed.

L = ReLU(Σ_k w_k A^k) with w_k = (y_c − y_c(A with channel k zeroed)) / y_c.

Gradient-free; one forward pass per channel ablated, so only the strongest channels are, in
batches of bounded size.
"""

import torch

from registry import Context, PerturbationCam
from registry.methods import HOW_TO_READ_A_CAM, batch_param, blank_channels, channel_cap_param, top_channels


class AblationCam(PerturbationCam):
    name = "ablationcam"
    title = "Ablation-CAM"
    family = "cam"
    description = (
        "Uses no gradients: each channel of the layer is switched off in turn (set to zero) and the drop "
        "in the class score becomes that channel's weight. A channel the decision really needs loses "
        "much score; one it ignores loses none. One forward pass per channel, so the most active are tried."
    )
    how_to_read = HOW_TO_READ_A_CAM + (
        " Each channel's weight is how much the score falls when that channel is switched off."
    )
    pitfalls = (
        "Only the most active channels are ablated (the cap). Switching a channel off creates an activation "
        "pattern the model never saw in training, so a drop can come from that shock as much as from the "
        "evidence."
    )
    quick_params = {"channels": 8}  # the contract suite's settings: the same code, fewer passes
    params = (
        channel_cap_param(
            "Channels ablated (cap)",
            "The most active channels are switched off one at a time; the others get weight 0.",
        ),
        batch_param(
            4,
            64,
            "How many changed copies of the image go through the model at once: more is faster on a GPU "
            "but needs more memory; 4 suits a small CPU.",
            label="Ablations per batch",
        ),
    )

    def channel_weights(self, ctx: Context):
        activations = ctx.activations
        strongest = top_channels(activations, ctx.params["channels"])
        # Switching off a channel that is zero everywhere changes nothing: its drop is 0 without a pass.
        chosen = strongest[~blank_channels(activations, strongest)]
        original = ctx.logit
        drops = torch.zeros(activations.shape[1])
        batch = ctx.params["batch_size"]
        with torch.no_grad():
            for start in range(0, len(chosen), batch):
                channels = chosen[start : start + batch]
                ablated = activations.repeat(len(channels), 1, 1, 1)
                ablated[torch.arange(len(channels)), channels] = 0
                # Written back in the layer's own layout (a transformer's tokens keep their class token).
                handle = ctx.module.register_forward_hook(
                    lambda _m, _i, output, maps=ablated: ctx.layout.from_map(maps, output)
                )
                try:
                    logits = ctx.model(ctx.x.expand(len(channels), -1, -1, -1))
                finally:
                    handle.remove()
                drops[channels.cpu()] = original - logits[:, ctx.target].float().cpu()
                ctx.step(min(start + batch, len(chosen)), len(chosen))
        blank = len(strongest) - len(chosen)
        ctx.notes.append(
            f"Ablation-CAM switched off {len(chosen)} of {activations.shape[1]} channels, one at a time"
            + (f"; {blank} more are zero everywhere, so switching them off changes nothing." if blank else ".")
        )
        return drops / original if original != 0 else drops
