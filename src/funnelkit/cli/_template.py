"""The commented journey template written by ``funnelkit journey init`` (private)."""

from __future__ import annotations

import json

__all__ = ["EXAMPLE_EVENTS", "journey_template"]

#: Example events per preset stage: the bundled ``shop`` sample's for ``five_stage``
#: (the template runs on the sample as written), placeholders for the other presets.
EXAMPLE_EVENTS: dict[str, dict[str, object]] = {
    "five_stage": {
        "discovery": ["landing", "ad_click", "store_visit"],
        "consideration": ["product_view", "add_to_cart", "checkout_start"],
        "purchase": ["purchase"],
        "use": {"events": ["app_open", "review", "support_contact"], "after": "purchase"},
        "loyalty": {"repeat": {"events": ["purchase"], "nth": 2}},
    },
}

_HEADER = """\
# A funnelkit journey: the stages of your funnel, in order, and the events of each.
#
#   funnelkit report events.parquet --journey {file}
#   funnelkit funnel events.parquet --journey {file}
#   Python: fk.Journey.from_toml("{file}")
#
# Top-level keys
#   name     the journey's name, shown in reports
#   lang     "en" or "es": the language of the labels in tables, plots and reports
#            (--lang on the command line overrides it)
#   preset   stages named as in a preset ({presets}) take the preset's
#            labels when they have no label_en / label_es of their own
#
# One [[stages]] table per stage, in funnel order. A stage's keys:
#   name      the stage id (used in tables, in `after = "..."` and in messages)
#   label_en  its label in English reports (optional; default: the preset's, else the name)
#   label_es  its label in Spanish reports (optional; default: the preset's, else label_en,
#             else the name). A bare `label` is not a key: write label_en and/or label_es.
#   events    the event names that put a unit in the stage: "purchase" or ["landing", "ad_click"]
#             (names may be globs: "checkout_*")
#   regex     a regular expression on event names, instead of or besides `events`
#   where     a condition on property columns: where = {{ channel = "store" }} or
#             where = {{ channel = ["ads", "seo"] }}
#   after     only events after the unit reached that stage count: after = "purchase"
#   repeat    the nth occurrence of an event: repeat = {{ events = ["purchase"], nth = 2 }}
#   rules     several rules whose union makes the stage:
#             rules = [{{ events = ["a"] }}, {{ regex = "^b_", where = {{ channel = "store" }} }}]
#
# The events below are {what}: replace them with your log's event names
# (funnelkit reports names that are not in the log, with the closest match).
"""


def _toml(v: object) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v), ensure_ascii=False)


def journey_template(preset: str = "five_stage", *, lang: str = "en", file: str = "journey.toml") -> str:
    """The commented TOML of a journey with ``preset``'s stages and example events.

    Parameters
    ----------
    preset : str
        One of :data:`funnelkit.journey.stages.PRESETS`.
    lang : {"en", "es"}
        The journey's language.
    file : str
        The file name, shown in the usage lines of the header.

    Returns
    -------
    str
        TOML that :meth:`funnelkit.Journey.from_toml` reads as it is.

    Examples
    --------
    >>> text = journey_template("three_phase")
    >>> "label_es" in text and 'preset = "three_phase"' in text
    True
    """
    from ..journey.stages import PRESETS

    spec = PRESETS[preset]
    examples = EXAMPLE_EVENTS.get(preset, {})
    what = ("the bundled 'shop' sample's (funnelkit report --journey ... runs on it as written)"
            if examples else "placeholders")
    out = [_HEADER.format(file=file, presets=", ".join(PRESETS), what=what)]
    out.append(f'name = "{preset}"\nlang = {_toml(lang)}\npreset = "{preset}"\n')
    for name, en, es in spec:
        rule = examples.get(name, {"events": [f"{name}_event"]})
        if isinstance(rule, list):
            rule = {"events": rule}
        out.append("\n[[stages]]\n")
        out.append(f"name = {_toml(name)}\n")
        out.append(f"label_en = {_toml(en)}\n")
        out.append(f"label_es = {_toml(es)}\n")
        for key, value in rule.items():  # type: ignore[union-attr]
            out.append(f"{key} = {_toml(value)}\n")
    return "".join(out)
