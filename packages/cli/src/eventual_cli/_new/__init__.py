"""``eventual new``: new projects from templates kept as package data.

Modules: ``_project`` (the templates and writing them), ``_command`` (the click
command).
"""

from ._command import NEXT_STEPS, new
from ._project import (
    TEMPLATES,
    NewProject,
    ProjectExists,
    TemplateUnavailable,
    project_files,
    write_project,
)

__all__ = [
    "NEXT_STEPS",
    "TEMPLATES",
    "NewProject",
    "ProjectExists",
    "TemplateUnavailable",
    "new",
    "project_files",
    "write_project",
]
