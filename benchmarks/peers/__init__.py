"""One module per engine. Each exposes ``load()`` (the imports, timed apart),
``version()``, and some of ``funnel(path, window_ms)`` -> per-step counts (units
reaching step k, k = 1..5), ``sessions(path, timeout_ms)`` -> number of sessions.

Peers are optional: a module whose package is missing raises ImportError in
``load()`` and the harness reports the engine as skipped with that reason.
"""


class NotApplicable(Exception):
    """Raised by an engine for a (shape, option) it does not support: the harness shows the
    row as not applicable with this message instead of a time (nothing is faked)."""
