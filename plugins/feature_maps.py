"""Feature maps: the activations of one layer, strongest channels first."""

from registry import Context, Param, Plugin, render


class FeatureMaps(Plugin):
    name = "feature_maps"
    title = "Feature maps"
    description = (
        "What does one layer respond to? Each tile is one channel's activation over the image, "
        "stretched to its own range (bright = strong). Early layers respond to edges and colours, "
        "middle layers to textures and parts, the final layers to whole objects. Pick a layer to compare."
    )
    needs_layer = True
    reads = ("activations",)
    default_depth = "middle"  # shapes and textures: the most telling layer to start from
    output = "images"
    params = (
        Param("count", "int", 16, label="Channels shown", minimum=1, maximum=64, step=1),
        Param("rank_by", "choice", "mean", label="Rank channels by", choices=("mean", "max"),
              help="Show the channels with the highest mean (or peak) activation."),
        Param("colormap", "choice", "viridis", label="Colormap", choices=render.COLORMAPS),
    )

    def compute(self, ctx: Context):
        activations = ctx.activations[0].float().cpu()  # (C, h, w)
        flat = activations.flatten(1)
        scores = flat.mean(1) if ctx.params["rank_by"] == "mean" else flat.amax(1)
        order = scores.argsort(descending=True)[: ctx.params["count"]].tolist()
        tiles = [render.tile(activations[c].numpy(), 112, ctx.params["colormap"]) for c in order]
        captions = [f"channel {c}" for c in order]
        layer = f"{ctx.layer}, {activations.shape[0]} channels of {activations.shape[1]}×{activations.shape[2]}"
        sheet = render.grid(tiles, [f"#{c}" for c in order])
        return [(sheet, f"top {len(order)} channels by {ctx.params['rank_by']} activation ({layer})")] + list(zip(tiles, captions))
