"""The ``funnelkit`` command line: the main jobs of the library from a shell.

``funnelkit report``        the HTML experiment report (or funnel report without --variant-col);
                            the bundled sample by default
``funnelkit funnel``        the funnel table in the terminal (or CSV / Parquet / HTML)
``funnelkit sessionize``    add session ids to an event file, keeping its column names
``funnelkit journey init``  write a commented journey template (TOML)

Every subcommand has ``--help`` with examples. Everything that can be checked without
the data (options, output path, journey file) is checked before the log is read. Bad
arguments or bad data end with a one-line message in the command line's terms
(``--time-unit s``, not ``time_unit='s'``) and exit status 2 (``--debug`` shows the
traceback); warnings print as one line each on stderr.

Modules: ``_parser`` (options and help), ``_commands`` (the subcommands), ``_checks``
(checks before work), ``_messages`` (messages and warnings in CLI terms), ``_output``
(files written), ``_template`` (the journey template), ``_main`` (:func:`main`).
"""

from ._main import main
from ._parser import build_parser

__all__ = ["main", "build_parser"]
