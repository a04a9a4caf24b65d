"""Pictures ready before the first visitor asks: "What a channel looks for" and Learn's step 3 run once at
start-up, in the background, on the default backbone and the first sample, so their pictures are in the disk
cache.

On by default on a Space (SPACE_ID is set there), elsewhere with CNNLENS_PREWARM=1; CNNLENS_PREWARM=0 turns it
off. It computes on the backbone's heavy lane, so cheap requests never wait for it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading

import registry
from registry import settings
from registry.imaging import sample_paths
from registry.teaching import lesson

__all__ = ["prewarm_feature_vis", "wanted"]

LOG = logging.getLogger("cnnlens")


def wanted() -> bool:
    """Whether this process should pre-warm (a Space, or CNNLENS_PREWARM=1; never with CNNLENS_PREWARM=0)."""
    setting = settings.value("CNNLENS_PREWARM")
    return setting if setting is not None else bool(os.environ.get("SPACE_ID"))


def prewarm_feature_vis(
    backbone: registry.Backbone | None = None, sample: str = "cat", **settings: object
) -> threading.Thread | None:
    """Start the background run with the plugin's `settings` (its defaults: what a visitor first asks for; the
    picture settings among them apply to Learn's step 3 too); None when the plugin is disabled. A failure is
    logged, never raised."""
    try:
        plugin = registry.get_plugin("feature_vis")
    except registry.UnknownPluginError:
        return None

    def work() -> None:
        try:
            chosen = backbone or registry.load_backbone(registry.DEFAULT_BACKBONE)
            result = plugin.run(chosen.heavy_lane(), sample_paths()[sample], **settings)
            fields = {field.name for field in dataclasses.fields(registry.FeatureVisSettings)}
            pictures = registry.FeatureVisSettings(**{k: v for k, v in settings.items() if k in fields})
            lesson.channel_pictures(chosen.heavy_lane(), sample_paths()[sample], settings=pictures)
            LOG.info("feature visualization pre-warmed for %s (the plugin in %.1f s)", chosen.name, result.seconds)
        except Exception as exc:  # noqa: BLE001 - a warm-up that fails costs the cache, never the server
            LOG.warning("feature visualization pre-warm failed: %s", exc)

    thread = threading.Thread(target=work, name="cnnlens-prewarm", daemon=True)
    thread.start()
    return thread
