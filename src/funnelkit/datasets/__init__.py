"""Sample data: bundled event logs and the generators that make them.

Like ``lifelines.datasets``, each bundled sample has a loader whose docstring says
how big it is, what every column means, how it was made and what answers were
planted in it.

- :func:`load_sample` / :func:`list_samples`: load a bundled sample by name.
- :func:`load_shop`: the ``"shop"`` sample (an online shop with stores, an A/B test
  on checkout and a checkout incident).
- :func:`shop_journey`: the five-stage journey that maps the shop's events to stages.
- :func:`make_shop`: the generator behind it, for any size and seed (benchmarks use
  it for millions of events).
"""

from ._journeys import shop_journey
from ._shop import list_samples, load_sample, load_shop, make_shop

__all__ = [
    "list_samples",
    "load_sample",
    "load_shop",
    "make_shop",
    "shop_journey",
]
