"""funnelkit's engine (private): one implementation behind every journey analysis.

Data flows one way through four parts, one module each:

``sources``
    an event log (a normalized frame; Parquet row groups read directly; anything else
    through the io layer) as blocks of only the needed columns, read on all cores;
    unit ids coded from one global sorted dictionary.
``plan``
    the journey's rules evaluated per block into rule bits (a row may match several
    steps) and attribute codes; the rows that matter are kept, thinned where the bucket
    function allows it (``thin``) and split by unit range.
``buckets``
    whole units per bucket, spilled to disk beyond ``memory_budget``, each sorted by
    (unit, time, step position, values) and run on all cores.
``bucket_funnel`` (and the other ``bucket_*`` modules)
    bucket functions: one sorted bucket to mergeable per-unit partial results;
    ``repeat()``/``after()`` are evaluated there, where each unit's history is whole.

``drive`` drives them for every analysis (in memory and out of core are the same code,
with or without a budget; ``run`` is the funnel's client of it), ``dask`` runs the same
driver per partition after a shuffle on the unit, and ``kernels`` holds the numpy-only
funnel kernels.
"""

from .run import FunnelPartial, FunnelRequest, merge, run_funnel

__all__ = ["FunnelPartial", "FunnelRequest", "merge", "run_funnel"]
