"""Regenerate the bundled sample event logs.

Run from anywhere (no arguments)::

    python data/samples/make_samples.py

It writes ``src/funnelkit/datasets/_data/shop.parquet`` (the copy that is installed
with the package) and makes ``data/samples/shop.parquet`` a relative symlink to it.
The output depends only on ``PARAMS`` below and the code of
``funnelkit.datasets.make_shop``: ``tests/test_datasets.py`` regenerates the frame
with ``PARAMS`` and checks that it equals the committed file. When the generator
changes on purpose, rerun this script and update the numbers in the docstring of
``funnelkit.datasets.load_shop`` and in ``data/samples/README.md``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = ROOT / "src" / "funnelkit" / "datasets" / "_data"

#: The exact call that makes the ``shop`` sample (every parameter spelled out, so a
#: change of a default cannot silently change the sample).
PARAMS: dict = dict(
    n_users=20_000,
    seed=0,
    start="2026-03-01",
    days=60,
    browse_events=3.5,
    lift=1.2,
    incident=("2026-03-20", "2026-03-23"),
    incident_factor=0.2,
    repeat_rate=0.3,
)


def to_arrow(frame) -> pa.Table:
    """The table written to Parquet: ms timestamps, dictionary-encoded strings.

    No pandas metadata is stored, so the file bytes depend only on the data (and the
    pyarrow version); ``funnelkit.datasets.load_sample`` restores the normalized dtypes.
    """
    def dictionary(col) -> pa.DictionaryArray:
        codes = np.asarray(col.cat.codes, dtype=np.int8)
        return pa.DictionaryArray.from_arrays(
            pa.array(codes, type=pa.int8()), pa.array([str(c) for c in col.cat.categories])
        )

    ts_ms = frame["timestamp"].dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]")
    if (ts_ms.astype(np.int64) % 1_000_000).any():
        raise ValueError("timestamps must be whole milliseconds to be stored losslessly")
    return pa.table(
        {
            "user_id": pa.array(frame["user_id"].to_numpy(np.int64)),
            "timestamp": pa.array(
                ts_ms.astype("datetime64[ms]"), type=pa.timestamp("ms", tz="UTC")
            ),
            "event": dictionary(frame["event"]),
            "channel": dictionary(frame["channel"]),
            "device": dictionary(frame["device"]),
            "variant": dictionary(frame["variant"]),
            "order_value": pa.array(frame["order_value"].to_numpy(np.float64), from_pandas=True),
        }
    )


def write_parquet(frame, path: Path) -> None:
    pq.write_table(
        to_arrow(frame),
        path,
        compression="zstd",
        compression_level=19,
        use_dictionary=True,
        row_group_size=1 << 20,
    )


def link(target: Path, link_path: Path) -> None:
    """Make ``link_path`` a relative symlink to ``target`` (replacing what is there)."""
    rel = os.path.relpath(target, link_path.parent)
    if link_path.is_symlink() or link_path.exists():
        link_path.unlink()
    link_path.symlink_to(rel)


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))  # use this checkout's funnelkit
    from funnelkit.datasets import make_shop

    DATA.mkdir(parents=True, exist_ok=True)
    frame = make_shop(**PARAMS)
    out = DATA / "shop.parquet"
    write_parquet(frame, out)
    link(out, HERE / "shop.parquet")
    size = out.stat().st_size
    print(
        f"{out.relative_to(ROOT)}: {len(frame):,} rows, {frame['user_id'].nunique():,} users, "
        f"{frame['timestamp'].min()} .. {frame['timestamp'].max()}, {size:,} bytes "
        f"({size / 2**20:.2f} MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
