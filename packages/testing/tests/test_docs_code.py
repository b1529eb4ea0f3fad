"""The python blocks of the Markdown docs type-check against the real API.

Every python block of ``README.md``, ``docs/*.md`` and ``packages/*/README.md``
becomes a module of its own, and one mypy run with the strict configuration of
the root ``pyproject.toml`` checks them all; a failure names the Markdown file
and line (``docs/workflows.md:123: error: ...``). An HTML comment on the line
before a block (blank lines may sit between) says otherwise:

- ``<!-- docs: continue -->``: the block continues the module of the page's
  previous python block, for a guide that builds one module step by step;
- ``<!-- docs: skip (reason) -->``: the block is left out, for a fragment that
  cannot stand alone; the reason is required.

The run leaves the biggest third-party packages unfollowed (aws-cdk-lib,
constructs, cdk-nag, pulumi and pulumi-aws, a few minutes of mypy between them):
their names are ``Any`` in the blocks, while every name of eventual is checked.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import attrs
import mypy.api
import pytest

ROOT = Path(__file__).resolve().parents[3]

# Unfollowed by the check (their types become Any): each costs the cold run a minute or more.
UNFOLLOWED = ["aws_cdk", "constructs", "cdk_nag", "pulumi", "pulumi_aws"]

_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>\S*)\s*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs:(?P<body>.*?)-->\s*$")
_SKIP = re.compile(r"skip\s*\((?P<reason>[^)]*\S[^)]*)\)")
_MYPY_LINE = re.compile(r"^(?P<path>.+?\.py):(?P<line>\d+): (?P<rest>(?:error|note): .*)$")


@attrs.frozen(kw_only=True)
class Block:
    """A python block of a page: its code lines and the page line of each."""

    page: str
    lines: tuple[tuple[int, str], ...]
    directive: str | None
    directive_line: int

    @property
    def start(self) -> int:
        """The page line of the block's first code line (its fence's next line)."""
        return self.lines[0][0] if self.lines else 0


@attrs.frozen(kw_only=True)
class Module:
    """A generated module: one block, or a block and the blocks that continue it."""

    name: str
    lines: tuple[tuple[str, int, str], ...]  # (page, page line, code)

    def source(self) -> str:
        """Return the module's text."""
        return "".join(code + "\n" for _, _, code in self.lines)


def pages() -> list[Path]:
    """Return every Markdown page whose python blocks users read."""
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted(ROOT.glob("packages/*/README.md")),
    ]


def parse_blocks(page: str, text: str) -> list[Block]:
    """Return the python blocks of a page, each with the directive written before it.

    Raises:
        ValueError: a directive is unknown, has no reason, or no python block follows it.
    """
    blocks: list[Block] = []
    pending: tuple[int, str] | None = None
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = _DIRECTIVE.match(line)
        fence = _FENCE.match(line)
        if directive:
            if pending is not None:
                raise ValueError(f"{page}:{pending[0]}: no python block follows this directive")
            body = directive["body"].strip()
            if body != "continue" and not _SKIP.fullmatch(body):
                raise ValueError(
                    f"{page}:{index + 1}: unknown directive {body!r}; write"
                    " '<!-- docs: continue -->' or '<!-- docs: skip (reason) -->'"
                )
            pending = (index + 1, body)
        elif fence and fence["info"]:
            indent = len(fence["indent"])
            end = index + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            if fence["info"] == "python":
                code = tuple((n + 1, lines[n][indent:]) for n in range(index + 1, end))
                blocks.append(
                    Block(
                        page=page,
                        lines=code,
                        directive=pending[1] if pending else None,
                        directive_line=pending[0] if pending else 0,
                    )
                )
                pending = None
            elif pending is not None:
                raise ValueError(f"{page}:{pending[0]}: no python block follows this directive")
            index = end
        elif pending is not None and line.strip():
            raise ValueError(f"{page}:{pending[0]}: no python block follows this directive")
        index += 1
    if pending is not None:
        raise ValueError(f"{page}:{pending[0]}: no python block follows this directive")
    return blocks


def build_modules(blocks: list[Block]) -> tuple[list[Module], list[Block]]:
    """Group blocks into modules, joining each continued block to its predecessor's.

    Returns:
        The modules and the skipped blocks.

    Raises:
        ValueError: a page's first block (or one after a skipped block) continues nothing.
    """
    modules: list[Module] = []
    skipped: list[Block] = []
    previous: Block | None = None
    for block in blocks:
        if block.directive is not None and block.directive.startswith("skip"):
            skipped.append(block)
            previous = None
            continue
        lines = tuple((block.page, number, code) for number, code in block.lines)
        if block.directive == "continue":
            if previous is None or previous.page != block.page:
                raise ValueError(
                    f"{block.page}:{block.directive_line}: this block continues nothing; the python"
                    " block before it on the page must be checked, not skipped"
                )
            last = modules.pop()
            modules.append(Module(name=last.name, lines=last.lines + lines))
        else:
            slug = re.sub(r"\W", "_", block.page.removesuffix(".md")).lower()
            modules.append(Module(name=f"docs_{slug}_{block.start}", lines=lines))
        previous = block
    return modules, skipped


def _toml(value: object) -> str:
    # JSON strings, numbers, booleans and arrays of them are valid TOML values.
    return json.dumps(value)


def mypy_config(path: Path) -> None:
    """Write the root pyproject's mypy settings, with absolute paths and UNFOLLOWED skipped."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        settings = dict(tomllib.load(f)["tool"]["mypy"])
    overrides = [*settings.pop("overrides", [])]
    overrides.append({"module": [m for name in UNFOLLOWED for m in (name, f"{name}.*")]})
    overrides[-1]["follow_imports"] = "skip"
    settings["mypy_path"] = [str(ROOT / entry) for entry in settings["mypy_path"]]
    text = ["[tool.mypy]"]
    text += [f"{key} = {_toml(value)}" for key, value in settings.items()]
    for override in overrides:
        text += ["", "[[tool.mypy.overrides]]"]
        text += [f"{key} = {_toml(value)}" for key, value in override.items()]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")


def _top_level_imports(modules: list[Module]) -> set[str]:
    found: set[str] = set()
    for module in modules:
        for _, _, code in module.lines:
            imported = re.match(r"^\s*(?:from|import)\s+(\w+)", code)
            if imported:
                found.add(imported[1])
    return found


def test_parse_maps_each_code_line_to_its_page_line() -> None:
    """A block's lines keep their page line numbers, and a continued block joins its module."""
    page = "\n".join(
        [
            "# Title",  # 1
            "```python",  # 2
            "x = 1",  # 3
            "```",  # 4
            "<!-- docs: continue -->",  # 5
            "",  # 6
            "  ```python",  # 7
            "  y = x",  # 8
            "  ```",  # 9
            "```console",  # 10
            "$ eventual local",  # 11
            "```",  # 12
        ]
    )
    modules, skipped = build_modules(parse_blocks("docs/x.md", page))
    assert skipped == []
    assert [(m.name, m.source()) for m in modules] == [("docs_docs_x_3", "x = 1\ny = x\n")]
    assert [line for _, line, _ in modules[0].lines] == [3, 8]


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("<!-- docs: skip -->\n```python\nx\n```", "x.md:1: unknown directive 'skip'"),
        ("<!-- docs: skip () -->\n```python\nx\n```", r"x.md:1: unknown directive 'skip \(\)'"),
        ("<!-- docs: continue -->\nText.\n```python\nx\n```", "x.md:1: no python block follows"),
        ("<!-- docs: continue -->\n```console\n$ x\n```", "x.md:1: no python block follows"),
        ("<!-- docs: continue -->\n```python\nx\n```", "x.md:1: this block continues nothing"),
    ],
    ids=["skip-without-reason", "skip-empty-reason", "text-between", "console-block", "first"],
)
def test_a_misplaced_or_unexplained_directive_is_refused(page: str, message: str) -> None:
    """A skip without its reason, or a directive that governs no block, fails with its line."""
    with pytest.raises(ValueError, match=message):
        build_modules(parse_blocks("docs/x.md", page))


def test_every_python_block_of_the_docs_type_checks(tmp_path: Path) -> None:
    """Each python block of the docs passes mypy --strict against the workspace's real API."""
    blocks = [
        block
        for page in pages()
        for block in parse_blocks(
            page.relative_to(ROOT).as_posix(), page.read_text(encoding="utf-8")
        )
    ]
    modules, _ = build_modules(blocks)
    assert len(modules) >= 20
    missing = sorted(
        name for name in _top_level_imports(modules) if importlib.util.find_spec(name) is None
    )
    if missing:
        pytest.skip(f"the docs import {', '.join(missing)}, not installed here")

    folder = tmp_path / "blocks"
    folder.mkdir()
    by_file: dict[str, Module] = {}
    for module in modules:
        path = folder / f"{module.name}.py"
        path.write_text(module.source(), encoding="utf-8")
        by_file[path.name] = module
    config = tmp_path / "mypy.toml"
    mypy_config(config)

    stdout, stderr, status = mypy.api.run(
        [
            "--config-file",
            str(config),
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            "--no-error-summary",
            "--hide-error-context",
            *sorted(str(folder / name) for name in by_file),
        ]
    )
    assert status in (0, 1), f"mypy stopped:\n{stderr}{stdout}"
    failures: list[str] = []
    for line in stdout.splitlines():
        found = _MYPY_LINE.match(line)
        generated = by_file.get(Path(found["path"]).name) if found else None
        if found is None or generated is None:
            # A workspace module's own error (some only because UNFOLLOWED is Any here):
            # nox's typecheck session checks those modules with everything followed.
            continue
        index = min(int(found["line"]), len(generated.lines)) - 1
        page, page_line, _ = generated.lines[max(index, 0)]
        failures.append(f"{page}:{page_line}: {found['rest']}")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
