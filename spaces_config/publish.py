"""Publish CNN Lens to a Hugging Face Space: exactly the files a Space needs, nothing else.

    python -m spaces_config.publish --repo you/cnn-lens --dry-run   # list the files and sizes
    HF_TOKEN=hf_... python -m spaces_config.publish --repo you/cnn-lens

The Space runs README.md's front matter (sdk, app_file, preload_from_hub) and installs
requirements.txt; tests, benchmarks, scripts and caches stay home.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("README.md", "requirements.txt")
FOLDERS = ("app", "registry", "plugins", "spaces_config", "examples", "docs")
SKIPPED = ("__pycache__", ".pyc", ".pyi", ".DS_Store")


def space_files(root: Path = ROOT) -> list[Path]:
    """The files a Space needs, relative to `root`, sorted."""
    found = [Path(name) for name in FILES if (root / name).is_file()]
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root)
            if (
                path.is_file()
                and not any(part.startswith(".") for part in relative.parts)
                and not any(skip in str(relative) for skip in SKIPPED)
            ):
                found.append(relative)
    return sorted(found)


def listing(files: list[Path], root: Path = ROOT) -> str:
    """One line per file with its size, then the total."""
    sizes = [(root / f).stat().st_size for f in files]
    lines = [f"{size:>10,}  {name.as_posix()}" for name, size in zip(files, sizes)]
    return "\n".join(lines + [f"{sum(sizes):>10,}  total, {len(files)} files"])


def publish(repo: str, files: list[Path], root: Path = ROOT) -> str:
    """Upload `files` to the Space `repo` in one commit (created if absent); return the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo, repo_type="space", space_sdk="gradio", exist_ok=True)
    info = api.upload_folder(
        folder_path=str(root),
        repo_id=repo,
        repo_type="space",
        allow_patterns=[f.as_posix() for f in files],
        commit_message="Publish CNN Lens",
    )
    return str(info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", required=True, help="the Space, as owner/name")
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded, upload nothing")
    args = parser.parse_args(argv)
    files = space_files()
    print(listing(files))
    if not args.dry_run:
        print(publish(args.repo, files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
