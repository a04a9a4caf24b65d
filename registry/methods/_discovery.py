"""Find visualization plugins: built-in folder, extra folders, installed packages.

Order: the `plugins` package; each folder in $CNNLENS_PLUGIN_PATH (os.pathsep-separated);
entry points in the group `cnnlens.plugins`. A module contributes every `Plugin` subclass
it defines. Anything that fails (import error, bad declaration, duplicate name) becomes a
`LoadError` that the app shows; the other plugins load regardless.

Switches: $CNNLENS_DISABLE_PLUGINS=a,b turns plugins off by name;
$CNNLENS_DISABLE_PLUGIN_AUTOLOAD=1 skips entry points (installed packages) altogether.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import registry.settings as settings
from registry.imaging import shorten
from registry.methods._plugin import Plugin, check_api_version

__all__ = [
    "ENTRY_POINT_GROUP",
    "Catalog",
    "LoadError",
    "UnknownPluginError",
    "catalog",
    "discover",
    "get_plugin",
    "list_plugins",
    "load_errors",
    "reload_plugins",
]

ENTRY_POINT_GROUP = "cnnlens.plugins"


class UnknownPluginError(KeyError, ValueError):
    """No loaded plugin has the name asked for. A KeyError for a lookup, and a ValueError so the app shows
    the sentence to the user as it shows any other bad request."""

    def __str__(self) -> str:  # KeyError would print the sentence in quotes
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class LoadError:
    """A plugin that could not be loaded: where it came from and why."""

    source: str
    message: str


@dataclass
class Catalog:
    plugins: dict[str, Plugin]
    errors: list[LoadError]
    disabled: list[str]
    warnings: list[LoadError] = field(default_factory=list)  # loaded, but the user should know (API version)


_catalog: Catalog | None = None
_lock = threading.Lock()


def catalog() -> Catalog:
    """The plugins found so far (discovered on first use)."""
    global _catalog
    with _lock:
        if _catalog is None:
            _catalog = discover()
        return _catalog


def reload_plugins() -> Catalog:
    """Discover again, e.g. after changing the environment or dropping in a file."""
    global _catalog
    with _lock:
        _catalog = discover()
        return _catalog


def list_plugins() -> list[Plugin]:
    """Every loaded plugin, in discovery order."""
    return list(catalog().plugins.values())


def get_plugin(name: str) -> Plugin:
    """The plugin called `name`. The one lookup: its one error names the loaded plugins, or says it is switched off."""
    found = catalog()
    if name not in found.plugins:
        if name in found.disabled:
            raise UnknownPluginError(
                f"The method {shorten(name)} is switched off here (CNNLENS_DISABLE_PLUGINS), so this cannot be shown."
            )
        raise UnknownPluginError(
            f"There is no method called {shorten(name)}. The methods are: {', '.join(found.plugins) or 'none'}."
        )
    return found.plugins[name]


def load_errors() -> list[LoadError]:
    """Plugins that failed to load, with where they came from and why."""
    return list(catalog().errors)


def discover() -> Catalog:
    found = Catalog({}, [], [])
    disabled = set(settings.value("CNNLENS_DISABLE_PLUGINS"))
    for source, load in _sources():
        try:
            candidates = _plugins_in(load())
            if not candidates:
                raise ValueError("defines no Plugin subclass")
        except (Exception, SystemExit) as exc:  # a plugin must never take the app down
            found.errors.append(LoadError(source, _describe(exc)))
            continue
        for plugin_class in candidates:
            try:
                plugin = plugin_class()
                plugin.validate()
            except Exception as exc:
                found.errors.append(LoadError(f"{source} ({plugin_class.__name__})", _describe(exc)))
                continue
            plugin.source = source
            warning = check_api_version(plugin.name, plugin.api_version)
            if warning:
                found.warnings.append(LoadError(source, warning))
            if plugin.name in disabled:
                found.disabled.append(plugin.name)
            elif plugin.name in found.plugins:
                first = found.plugins[plugin.name].source
                found.errors.append(
                    LoadError(source, f"duplicate plugin name {plugin.name!r} (already loaded from {first})")
                )
            else:
                found.plugins[plugin.name] = plugin
    return found


def _sources():
    """Yield (source description, loader) pairs in discovery order."""
    import plugins as builtin

    first = list(getattr(builtin, "FIRST", ()))  # the tabs the built-in package puts first, then A to Z

    def order(info: pkgutil.ModuleInfo) -> tuple[int, str]:
        return (first.index(info.name) if info.name in first else len(first), info.name)

    for info in sorted(pkgutil.iter_modules(builtin.__path__), key=order):
        if not info.name.startswith("_"):
            yield f"plugins/{info.name}.py", lambda n=info.name: importlib.import_module(f"plugins.{n}")
    for folder in settings.value("CNNLENS_PLUGIN_PATH"):
        path = Path(folder).expanduser()
        if not path.is_dir():
            yield str(path), lambda p=path: _raise(NotADirectoryError(f"CNNLENS_PLUGIN_PATH entry {p} is not a folder"))
            continue
        for file in sorted(path.glob("*.py")):
            if not file.name.startswith("_"):
                yield str(file), lambda f=file: _import_file(f)
    if settings.value("CNNLENS_DISABLE_PLUGIN_AUTOLOAD"):
        return
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = f" ({entry.dist.name} {entry.dist.version})" if getattr(entry, "dist", None) else ""
        yield f"entry point {entry.name} = {entry.value}{dist}", entry.load


def _import_file(file: Path) -> ModuleType:
    """Import a plugin file under a unique module name, so two folders may both hold a `blur.py`."""
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    name = f"cnnlens_plugin_{file.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _plugins_in(obj: object) -> list[type[Plugin]]:
    """Plugin classes an entry point or module provides (a module: the ones it defines itself)."""
    if isinstance(obj, ModuleType):
        return [
            value
            for value in vars(obj).values()
            if inspect.isclass(value)
            and issubclass(value, Plugin)
            and value is not Plugin
            and value.__module__ == obj.__name__
            and not inspect.isabstract(value)
        ]
    if inspect.isclass(obj) and issubclass(obj, Plugin) and obj is not Plugin:
        return [obj]
    if isinstance(obj, Plugin):
        return [type(obj)]
    raise TypeError(f"entry point gives {type(obj).__name__}, expected a Plugin subclass or a module")


def _describe(exc: BaseException) -> str:
    """The error in one line, with the plugin's own line where it failed (not the loader's or importlib's)."""
    if isinstance(exc, ValueError) or not exc.__traceback__:
        return f"{type(exc).__name__}: {exc}"
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<frozen") and _REGISTRY not in Path(f.filename).resolve().parents
    ]
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"SyntaxError: {exc.msg} (at {Path(exc.filename).name}:{exc.lineno}: {(exc.text or '').strip()})"
    if not frames:
        return f"{type(exc).__name__}: {exc}"
    last = frames[-1]
    return f"{type(exc).__name__}: {exc} (at {Path(last.filename).name}:{last.lineno}: {(last.line or '').strip()})"


_REGISTRY = Path(__file__).resolve().parents[1]  # the loader's own frames (anywhere in registry/) are not the plugin's


def _raise(exc: Exception):
    raise exc
