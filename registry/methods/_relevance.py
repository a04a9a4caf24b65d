"""Whether captum's rule-based attributions (DeepLift, DeepLiftShap, LRP) hold on a model, said in words.

captum writes their rules as hooks on modules, so they are right only where a model is built the way the hooks
expect. DeepLift's rescale rule exists only for the activation modules captum lists (ReLU, ELU, LeakyReLU,
Sigmoid, Tanh, Softplus, max-pooling, Softmax); any other activation (ReLU6, SiLU / Swish, GELU, Hardswish)
silently passes the plain gradient. An activation module called twice in one pass keeps only its last input, so
its rule is applied with the wrong one (captum #546, #712). LRP needs more: a plain chain of the layers it has
rules for, each called once; at a skip connection's addition, a concatenation or an Upsample it has no rule and
the relevance stops adding up (captum #792). A model that breaks these is refused, before any pass, in a sentence
that names what is needed and which method to use instead; what passes runs captum unchanged.

LRP's shape-only modules (nn.Flatten, nn.Identity, nn.Dropout) get captum's IdentityRule for the run, its relevance
reshaped to the module's input (`identity_rules`): captum refuses them otherwise, though they pass relevance through
untouched (a functional `x.flatten(1)` already does so in captum).
"""

from __future__ import annotations

import contextlib
import operator
import weakref
from collections.abc import Iterator

import torch
from torch import nn

from registry.methods._attribution import apply_sign, channel_sum
from registry.methods._plugin import Context, Plugin
from registry.methods._shared_params import sign_param
from registry.models import Backbone

__all__ = [
    "PASS_THROUGH",
    "RuleAttribution",
    "deeplift_problem",
    "identity_rules",
    "lrp_problem",
    "model_outputs",
    "note_completeness",
]

PASS_THROUGH = (nn.Flatten, nn.Identity, nn.Dropout)  # relevance passes them untouched (captum's IdentityRule)
COMPLETE = 0.05  # DeepLift's maps add up to the score difference: a miss above this share is worth a warning
_SHAPE_OPS = {"flatten", "view", "reshape", "size", "squeeze", "unsqueeze", "contiguous", "dim", operator.getitem}
_SHAPE_OPS |= {torch.flatten, torch.reshape, torch.squeeze, torch.unsqueeze}  # the function forms (torchvision's VGG)
_REUSED: weakref.WeakKeyDictionary[nn.Module, tuple[str, ...]] = weakref.WeakKeyDictionary()
_NOT_A_CHAIN: weakref.WeakKeyDictionary[nn.Module, str | None] = weakref.WeakKeyDictionary()  # lrp_problem's answers
_INSTEAD = "Integrated Gradients (Gradients tab) explains any network by the same completeness axiom"


def _is_activation(module: nn.Module) -> bool:
    """torch's and timm's activation modules (ReLU, SiLU, GELU, ...): their classes live in an activations module."""
    return "activation" in type(module).__module__ and not list(module.children())


def _deeplift_rules() -> tuple[type, ...]:
    from captum.attr._core.deep_lift import SUPPORTED_NON_LINEAR  # lazy: captum adds ~1 s to start-up

    return tuple(SUPPORTED_NON_LINEAR)


def _unruled_activations(model: nn.Module, ruled: tuple[type, ...]) -> list[str]:
    """The class names of the model's activation modules that have no rule in `ruled`, each once."""
    names = {type(m).__name__ for m in model.modules() if _is_activation(m) and type(m) not in ruled}
    return sorted(names)


def _called_twice(backbone: Backbone, kinds: tuple[type, ...]) -> tuple[str, ...]:
    """Names of the modules of `kinds` that one forward pass calls more than once (cached per model)."""
    model = backbone.model
    if model in _REUSED:
        return _REUSED[model]
    calls: dict[str, int] = {}
    handles = [
        module.register_forward_hook(lambda *_args, name=name: calls.__setitem__(name, calls.get(name, 0) + 1))
        for name, module in model.named_modules()
        if isinstance(module, kinds)
    ]
    probe = torch.zeros(1, *backbone.data_config["input_size"], device=backbone.device)
    try:
        with backbone.lock, torch.no_grad():
            model(probe)
    finally:
        for handle in handles:
            handle.remove()
    _REUSED[model] = tuple(name for name, count in calls.items() if count > 1)
    return _REUSED[model]


def deeplift_problem(backbone: Backbone) -> str | None:
    """Why captum's DeepLift would be wrong on this model, or None: activations with no rescale rule, or reused."""
    unruled = _unruled_activations(backbone.model, _deeplift_rules())
    if unruled:
        return (
            f"it uses {', '.join(unruled)} activations, for which captum's DeepLift has no rescale rule (it has "
            "one for ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softplus and max-pooling), so the map would mix DeepLift "
            f"with plain gradients. {_INSTEAD}."
        )
    reused = _called_twice(backbone, _deeplift_rules())
    if reused:
        return (
            f"its activation module {reused[0]} is called more than once in a pass, and captum's DeepLift keeps "
            "only the last call's input, so its rule would use the wrong one. It needs one activation module per "
            f"use. {_INSTEAD}."
        )
    return None


def lrp_problem(backbone: Backbone) -> str | None:
    """Why captum's LRP would fail or be wrong on this model, or None: it must be a chain of layers with rules.
    Cached per model: tracing it is asked twice a run (before the lock and under it)."""
    if backbone.model not in _NOT_A_CHAIN:
        _NOT_A_CHAIN[backbone.model] = _chain_problem(backbone)
    return _NOT_A_CHAIN[backbone.model]


def _chain_problem(backbone: Backbone) -> str | None:
    from captum.attr._core.lrp import SUPPORTED_LAYERS_WITH_RULES, SUPPORTED_NON_LINEAR_LAYERS

    ruled = (*SUPPORTED_LAYERS_WITH_RULES, *SUPPORTED_NON_LINEAR_LAYERS, *PASS_THROUGH)
    needs = (
        "LRP here needs a plain chain (VGG-like: convolutions, linear layers, batch norms, pooling, ReLU, each used "
        "once)"
    )
    instead = _lrp_instead(backbone)
    leaves = [(name, m) for name, m in backbone.model.named_modules() if not list(m.children())]
    unruled = sorted({type(m).__name__ for _name, m in leaves if not isinstance(m, ruled)})
    if unruled:
        return f"captum's LRP has no rule for its {', '.join(unruled)} layers. {needs}; {instead}."
    try:
        graph = torch.fx.symbolic_trace(backbone.model).graph
    except Exception:  # noqa: BLE001 - any tracing failure means the same thing to the user
        return f"its forward pass cannot be traced into a graph, so it cannot be checked to be a chain. {needs}."
    called: set[str] = set()
    for node in graph.nodes:
        if node.op == "call_module" and node.target in called:
            return f"it calls its layer {node.target} twice in a pass. {needs}; use Integrated Gradients instead."
        if node.op == "call_module":
            called.add(node.target)
        if node.op in ("call_function", "call_method") and node.target not in _SHAPE_OPS:
            name = getattr(node.target, "__name__", str(node.target))
            return (
                f"its forward pass applies {name} between layers (a skip connection, an upsampling or another "
                f"operation LRP has no rule for), where captum's relevance no longer adds up. {needs}; {instead}."
            )
        if node.op != "output" and len(node.users) > 1 and not all(u.target in _SHAPE_OPS for u in node.users):
            return (
                f"the output of {node.name} feeds several layers (a skip connection or a branch), where captum's "
                f"relevance no longer adds up. {needs}; {instead}."
            )
    return None


def _lrp_instead(backbone: Backbone) -> str:
    """The methods to offer where LRP is refused: DeepLift only where it applies (not on ReLU6, say)."""
    if deeplift_problem(backbone) is None:
        return "use DeepLift or Integrated Gradients instead"
    return "use Integrated Gradients instead"


def _pass_through_rule():
    """captum's IdentityRule, its relevance reshaped to the module's input (nn.Flatten changes the shape)."""
    from captum.attr._utils.lrp_rules import IdentityRule

    class PassThroughRule(IdentityRule):
        def _create_backward_hook_input(self, inputs):
            def _backward_hook_input(grad):
                return self.relevance_output[grad.device].reshape(grad.shape)

            return _backward_hook_input

    return PassThroughRule()


@contextlib.contextmanager
def identity_rules(model: nn.Module) -> Iterator[None]:
    """The pass-through rule on every shape-only module for the block (captum deletes every rule when it is done;
    what it leaves behind, its per-layer `activations`, is removed here too)."""
    for module in model.modules():
        if isinstance(module, PASS_THROUGH):
            module.rule = _pass_through_rule()
    try:
        yield
    finally:
        for module in model.modules():
            for leftover in ("rule", "activations"):
                if leftover in vars(module):
                    delattr(module, leftover)


@contextlib.contextmanager
def model_outputs(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """The model's outputs of every forward pass run inside the block, detached, as its own forward returns them
    (registered before captum's hooks, so before DeepLift's forward hook regroups the image's and the references'
    rows): the reference scores the completeness note needs, with no pass of their own."""
    outputs: list[torch.Tensor] = []
    handle = model.register_forward_hook(lambda _module, _inputs, output: outputs.append(output.detach()))
    try:
        yield outputs
    finally:
        handle.remove()


def note_completeness(ctx, attribution: torch.Tensor, references: torch.Tensor, reference: str) -> None:
    """DeepLift's summation-to-delta, told: the map adds up to the score difference, or a warning when it does not
    (a functional activation the hooks could not see would do that).

    `references`: the class score of each reference (DeepLift's own pass computed them); the image's score is the
    shared pass's. captum's `return_convergence_delta` would run both again, two more passes."""
    total = float(attribution.sum().detach())
    difference = ctx.logit - float(references.detach().mean())
    miss = total - difference
    share = abs(miss) / abs(difference) if difference else float("inf")
    said = f"The map sums to {total:.4g}; the score difference from the {reference} is {difference:.4g}"
    if share <= COMPLETE:
        ctx.notes.append(f"{said}: it adds up to within {share:.1%}, as DeepLift's rule promises.")
    else:
        ctx.warn(
            f"{said}: it misses by {share:.0%}, so part of the network does not follow DeepLift's rule exactly in "
            "captum (max-pooling with overlapping windows, or an activation applied as a function, which its hooks "
            "cannot see). Read it with care, or use Integrated Gradients."
        )


class RuleAttribution(Plugin):
    """The declarations DeepLift, DeepLiftShap and LRP share: a signed input map from one rule-based backward pass,
    refused where `problem` (deeplift_problem or lrp_problem) finds the model outside captum's rules. A subclass
    writes `attribute(ctx)`, the (1, 3, H, W) attribution."""

    family = "relevance"
    needs_target = True
    needs_gradients = True
    signed = True
    scale_percentile = 99.0
    params = (sign_param(),)
    problem = staticmethod(deeplift_problem)

    def refusal(self, backbone: Backbone) -> str | None:
        reason = self.problem(backbone)
        return self.refused(backbone, reason) if reason else super().refusal(backbone)

    def attribute(self, ctx: Context) -> torch.Tensor:
        raise NotImplementedError

    def compute(self, ctx: Context) -> torch.Tensor:
        ctx.step(0, 1)  # one pass: the time budget and a cancelled request are still honoured before it
        return apply_sign(channel_sum(self.attribute(ctx).detach()), ctx.params["sign"])
