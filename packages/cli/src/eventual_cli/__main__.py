"""``python -m eventual_cli``: the same as the ``eventual`` command."""

from ._main import main

main()
