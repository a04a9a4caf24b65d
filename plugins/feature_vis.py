"""What a channel looks for: feature visualization (Olah et al. 2017) beside dataset examples (Zeiler & Fergus 2014).

x* = argmax_x mean_ij A^k_ij(x), x a Fourier-parameterised, colour-decorrelated image under random transforms.
"""

from PIL import Image

from registry import Context, Param, Plugin, render
from registry.analysis import (
    OBJECTIVES,
    FeatureVisSettings,
    channel_examples,
    default_steps,
    image_activations,
    picture_activations,
    visualize_channels,
)
from registry.imaging import sample_paths
from registry.methods import seed_param

TILE, WIDTH = 112, 448  # the smallest tile, and the narrowest a result may be


class FeatureVis(Plugin):
    name = "feature_vis"
    title = "What a channel looks for"
    family = "representations"
    description = (
        "What would excite one channel the most? For the layer's strongest channels on your image, an image is "
        "optimised from noise until the channel fires as hard as it can (feature visualization), and beside it "
        "are the patches of real images that excite it most. Early layers look for edges and colours, middle "
        "layers for textures and parts, late layers for whole objects: pick layers to see it."
    )
    how_to_read = (
        "The first picture of each row is the channel's optimised image: a pattern repeated over the picture, "
        "since the channel's mean over all positions is raised. The patches after it are the places in the "
        "bundled samples (and your image) where the channel fires most, cut to the part of the image that "
        "channel can see (its receptive field). Where the two agree, the channel's preference is clear."
    )
    pitfalls = (
        "The optimised image is what the channel responds to most, not what it usually sees: it can mix several "
        "things the channel likes. A handful of sample images is a tiny dataset, so the patches show only what "
        "these pictures offer. Optimising takes a few hundred forward and backward passes (pictures are cached: "
        "the second look is instant)."
    )
    needs_layer = True
    reads = ("activations",)
    default_depth = "middle"
    output = "images"
    cost = "heavy"
    quick_params = {"count": 2, "steps": 8, "size": 32}  # the contract suite's settings: the same code, fewer passes
    params = (
        Param("count", "int", 4, label="Channels", minimum=1, maximum=16, step=1),
        Param(
            "first_channel",
            "int",
            -1,
            label="First channel (−1: the strongest on this image)",
            minimum=-1,
            maximum=8191,
            step=1,
            help="Show this channel and the ones after it, instead of the most active on your image.",
        ),
        Param(
            "steps",
            "int",
            default_steps(),
            label="Optimisation steps",
            minimum=8,
            maximum=1024,
            step=8,
            help="More steps give sharper pictures and take longer (Lucent uses 512).",
        ),
        Param("size", "int", FeatureVisSettings.size, label="Picture size (pixels)", minimum=32, maximum=512, step=16),
        Param(
            "objective",
            "choice",
            "channel",
            label="Excite",
            choices=OBJECTIVES,
            help="channel: the mean over all positions (a texture); neuron: the centre position alone (one instance).",
        ),
        Param("examples", "int", 3, label="Real patches per channel", minimum=0, maximum=6, step=1),
        seed_param(),
    )

    def refusal(self, backbone):
        refused = super().refusal(backbone)
        if refused is None and backbone.channels not in (1, 3):
            return self.refused(backbone, f"it takes {backbone.channels}-channel input, which has no picture.")
        return refused

    def compute(self, ctx: Context):
        activations = ctx.activations[0].float()  # (C, h, w) on this image
        total, count, first = activations.shape[0], ctx.params["count"], ctx.params["first_channel"]
        if first >= total:
            raise ValueError(f"{ctx.layer} has channels 0 to {total - 1}; there is no channel {first}.")
        if first < 0:
            chosen = activations.flatten(1).mean(1).argsort(descending=True)[:count].tolist()
        else:
            chosen = list(range(first, min(first + count, total)))
        settings = FeatureVisSettings(
            steps=ctx.params["steps"],
            size=ctx.params["size"],
            objective=ctx.params["objective"],
            seed=ctx.params["seed"],
        )
        pictures = visualize_channels(ctx.backbone, ctx.layer, chosen, settings, step=ctx.step)
        images = {f"{name} (sample)": path for name, path in sample_paths().items()} | {"your image": ctx.view}
        known = {"your image": ctx.activations[0].detach()}  # the shared pass ran this image already
        examples = channel_examples(ctx.backbone, ctx.layer, chosen, images, ctx.params["examples"], known)
        excited = picture_activations(ctx.backbone, ctx.layer, chosen, pictures, settings)
        columns = 1 + ctx.params["examples"] if all(len(found) == ctx.params["examples"] for found in examples) else 1
        side = max(TILE, WIDTH // columns)  # a row is at least as wide as every other result (448 px)
        rows, captions = [], []
        for channel, picture, found in zip(chosen, pictures, examples):
            rows.append(Image.fromarray(picture).resize((side, side), Image.Resampling.LANCZOS))
            captions.append(f"#{channel}")
            for example in found:
                rows.append(example.patch.resize((side, side), Image.Resampling.BILINEAR))
                captions.append("")
        real = image_activations(ctx.backbone, ctx.layer, chosen, images, known=known)
        ratio = [v / best for v, best in zip(excited, real.max(0)) if best > 0]
        ctx.notes.append(
            f"{settings.steps} Adam steps (lr {settings.lr}) on a {settings.size}-pixel Fourier image, seed "
            f"{settings.seed}; pictures are cached by model, weights, layer, channel and these settings."
        )
        if ratio:
            ctx.notes.append(
                f"Each optimised picture excites its channel {min(ratio):.1f}–{max(ratio):.1f}× as much (mean over "
                f"positions) as the most exciting of the {len(real)} real images does."
            )
        field = examples[0][0].patch.width if examples and examples[0] else None
        where = f", cut to the {field}-pixel receptive field" if field else ""
        return [
            (
                render.grid(rows, captions, columns=columns),
                f"each row: the picture channel #n of {ctx.layer} ({total} channels of {activations.shape[1]}×"
                f"{activations.shape[2]}) looks for, then the real patches that excite it most{where} "
                f"({', '.join(f'#{c}' for c in chosen)})",
            ),
            (
                render.grid(
                    [Image.fromarray(p).resize((TILE * 2, TILE * 2), Image.Resampling.LANCZOS) for p in pictures],
                    [f"#{c}" for c in chosen],
                ),
                f"the optimised pictures, larger ({settings.size} pixels each)",
            ),
        ]
