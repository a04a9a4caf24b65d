"""Built-in visualizations. Each module here is one plugin; drop in a file to add a tab.

FIRST lists the modules whose tabs come first, in this order (the guide's lesson: what a layer
sees, where the evidence lies, which pixels matter); the others follow alphabetically.
"""

FIRST = ("feature_maps", "gradcam", "saliency")
