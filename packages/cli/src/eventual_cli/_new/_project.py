"""Writing a new project from a template kept as package data.

A template is a folder of ``templates/``: the files of ``common/`` (the service,
its tests, its settings) and then those of the target's own folder (its
infrastructure and README), which win where both have a file. File names ending
in ``.tmpl`` lose the suffix, so that the repository's test collector, linter
and type checker leave the templates alone (the tests check what they generate
instead); ``PACKAGE`` in a path and ``{{name}}``, ``{{package}}``,
``{{title}}``, ``{{slug}}`` and ``{{deploy_extra}}`` (the ``deploy`` extra of
``pyproject.toml``) in a file are replaced. ``dot-`` starts the name of a dotfile,
which some tools drop from package data.

The sst template also holds eventual-sst's SST component (``infra/eventual.ts``),
taken from the installed eventual-sst so that it is the version that deploys it.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

import attrs

__all__ = [
    "TEMPLATES",
    "NewProject",
    "ProjectExists",
    "TemplateUnavailable",
    "project_files",
    "write_project",
]

TEMPLATES = ("local", "cdk", "pulumi", "sst")
"""The templates ``eventual new`` offers; the first is the default."""

_DEPLOY_REQUIREMENTS = {
    "cdk": ("eventual-aws-cdk",),
    "pulumi": ("eventual-pulumi",),
    # The component runs `eventual plan` and `eventual sst bundle` (uv builds the bundle).
    "sst": ("eventual-sst", "eventual-aws[bundle]", "eventual-cli"),
}
"""The distributions a template's ``deploy`` extra installs."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


class ProjectExists(Exception):
    """The target folder is not empty and overwriting was not asked for."""


class TemplateUnavailable(Exception):
    """The template needs a distribution that is not installed."""


@attrs.frozen(kw_only=True)
class NewProject:
    """What to generate.

    Attributes:
        name: The project's name (its folder's and distribution's), e.g. ``my-shop``.
        template: One of ``TEMPLATES``.
    """

    name: str = attrs.field()
    template: str = attrs.field(default="local")

    @name.validator
    def _check_name(self, _: attrs.Attribute[str], value: str) -> None:
        if not _NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a project name: use letters, digits, '-' and '_', "
                "starting with a letter (e.g. my-shop)"
            )
        if keyword.iskeyword(value.replace("-", "_").lower()):
            raise ValueError(f"{value!r} is a Python keyword; choose another project name")

    @template.validator
    def _check_template(self, _: attrs.Attribute[str], value: str) -> None:
        if value not in TEMPLATES:
            raise ValueError(f"no template {value!r}; choose one of {', '.join(TEMPLATES)}")

    @property
    def package(self) -> str:
        """The Python package of the service: the name, lower case, ``-`` as ``_``."""
        return self.name.replace("-", "_").lower()

    @property
    def title(self) -> str:
        """The name as a CamelCase identifier (a stack or resource name), e.g. ``MyShop``."""
        return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]+", self.name))

    @property
    def slug(self) -> str:
        """The name as an npm package or SST app name: lower case, ``_`` as ``-``."""
        return self.name.replace("_", "-").lower()

    def substitute(self, text: str) -> str:
        """Return ``text`` with the template's placeholders filled in."""
        requirements = _DEPLOY_REQUIREMENTS.get(self.template, ())
        deploy_extra = (
            "\n# What deploying needs: the renderer of the service's plan.\ndeploy = ["
            + ", ".join(f'"{r}"' for r in requirements)
            + "]"
            if requirements
            else ""
        )
        return (
            text.replace("{{deploy_extra}}", deploy_extra)
            .replace("{{name}}", self.name)
            .replace("{{package}}", self.package)
            .replace("{{title}}", self.title)
            .replace("{{slug}}", self.slug)
        )


def _walk(folder: Traversable, prefix: PurePosixPath) -> Iterator[tuple[PurePosixPath, str]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from _walk(entry, prefix / entry.name)
        elif entry.name.endswith(".tmpl"):
            yield prefix / entry.name, entry.read_text(encoding="utf-8")


def _target_path(project: NewProject, template_path: PurePosixPath) -> PurePosixPath:
    parts = []
    for part in template_path.parts:
        part = part.removesuffix(".tmpl")
        if part.startswith("dot-"):
            part = "." + part.removeprefix("dot-")
        parts.append(project.package if part == "PACKAGE" else part)
    return PurePosixPath(*parts)


def _sst_component() -> dict[PurePosixPath, str]:
    try:
        from eventual_sst import COMPONENT_FILE, component_source
    except ImportError:
        raise TemplateUnavailable(
            "the sst template holds eventual-sst's SST component (infra/eventual.ts): "
            "pip install eventual-sst, then run this again"
        ) from None
    return {PurePosixPath(COMPONENT_FILE): component_source()}


def project_files(project: NewProject) -> dict[PurePosixPath, str]:
    """Return the files of ``project``: each relative path and its content.

    Raises:
        TemplateUnavailable: The sst template without eventual-sst installed.
    """
    root = files("eventual_cli._new") / "templates"
    found: dict[PurePosixPath, str] = {}
    for layer in ("common", project.template):
        for path, text in _walk(root / layer, PurePosixPath()):
            found[_target_path(project, path)] = project.substitute(text)
    if project.template == "sst":
        found.update(_sst_component())
    return dict(sorted(found.items()))


def write_project(project: NewProject, directory: Path, *, force: bool = False) -> list[Path]:
    """Write ``project`` into ``directory`` and return the files written.

    Args:
        project: What to generate.
        directory: The project's folder; created when missing.
        force: Write into a folder that already holds files, replacing those of
            the same names and keeping the others.

    Raises:
        ProjectExists: ``directory`` holds files and ``force`` is false.
        TemplateUnavailable: The sst template without eventual-sst installed.
    """
    if directory.exists() and not directory.is_dir():
        raise ProjectExists(f"{str(directory)!r} is a file, not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise ProjectExists(
            f"{str(directory)!r} is not empty; choose a new folder, or pass --force to write "
            "the project's files into it (files of the same names are replaced)"
        )
    contents = project_files(project)  # raises before anything is written
    written = []
    for relative, text in contents.items():
        path = directory.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
