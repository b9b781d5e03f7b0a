"""The journeys that map the bundled samples' events to stages."""

from __future__ import annotations

from typing import Literal

from ..journey import Journey, after, repeat

__all__ = ["shop_journey"]


def shop_journey(lang: Literal["en", "es"] = "en") -> Journey:
    """The five-stage journey of the ``"shop"`` sample.

    ========================  =========================================================
    stage (en / es)           events
    ========================  =========================================================
    discovery / Descubrimiento  ``landing``, ``ad_click``, ``store_visit``
    consideration / Consideración  ``product_view``, ``add_to_cart``, ``checkout_start``
    purchase / Compra           ``purchase`` (the first one)
    use / Uso                   ``app_open``, ``review``, ``support_contact`` after the first purchase
    loyalty / Fidelización      the second ``purchase`` (``repeat("purchase", nth=2)``)
    ========================  =========================================================

    Browsing events (``page_view``, ``search``, ``scroll``) belong to no stage.

    Examples
    --------
    >>> from funnelkit.datasets import shop_journey
    >>> shop_journey(lang="es").labels()
    ('Descubrimiento', 'Consideración', 'Compra', 'Uso', 'Fidelización')
    """
    return Journey.preset(
        "five_stage",
        lang=lang,
        name="shop",
        events={
            "discovery": ["landing", "ad_click", "store_visit"],
            "consideration": ["product_view", "add_to_cart", "checkout_start"],
            "purchase": "purchase",
            "use": after("purchase", ["app_open", "review", "support_contact"]),
            "loyalty": repeat("purchase", nth=2),
        },
    )
