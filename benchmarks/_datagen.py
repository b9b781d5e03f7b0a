"""Generating the benchmark's event logs with ``funnelkit.datasets.make_shop`` (cached Parquet)."""

from __future__ import annotations

import json
import os
import re

from spec import (
    BROWSE_EVENTS,
    FUNNEL_EVENTS,
    PARQUET_COMPRESSION,
    PARQUET_TIME_UNIT,
    PILOT_USERS,
    SEED,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "_data")


def parse_size(text: str) -> int:
    """'1M' -> 1_000_000, '250k' -> 250_000, '2.5M', '1e6', '50M'."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kKmMgG]?)\s*", text)
    if not m:
        raise ValueError(f"size {text!r}: use e.g. 1M, 10M, 250k")
    mult = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()]
    return int(round(float(m.group(1)) * mult))


def size_label(n: int) -> str:
    if n % 10**6 == 0:
        return f"{n // 10**6}M"
    if n % 10**3 == 0:
        return f"{n // 10**3}k"
    return str(n)


def data_path(size: int, seed: int = SEED, variant: str = "") -> str:
    suffix = f"_{variant}" if variant else ""
    return os.path.join(DATA_DIR, f"shop_{size_label(size)}_seed{seed}_browse{BROWSE_EVENTS:g}{suffix}.parquet")


def _events_per_user(seed: int) -> float:
    from funnelkit.datasets import make_shop

    pilot = make_shop(n_users=PILOT_USERS, seed=seed, browse_events=BROWSE_EVENTS)
    return len(pilot) / PILOT_USERS


def generate(size: int, seed: int = SEED) -> dict:
    """Write the event log of about ``size`` events (and its tie variant) unless cached.

    Returns the metadata (also stored beside the file as ``.json``).
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = data_path(size, seed)
    meta_path = path + ".json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as fh:
            return json.load(fh)
    from funnelkit.datasets import make_shop

    os.makedirs(DATA_DIR, exist_ok=True)
    rate = _events_per_user(seed)
    n_users = max(1, int(round(size / rate)))
    df = make_shop(n_users=n_users, seed=seed, browse_events=BROWSE_EVENTS)
    ev = df["event"]
    users = df["user_id"].to_numpy()
    ts = pd.DatetimeIndex(df["timestamp"]).asi8
    # ties: two events of one user at the same timestamp (the funnel's sort must break them)
    order = np.lexsort((ts, users))
    su, st = users[order], ts[order]
    ties = int(((su[1:] == su[:-1]) & (st[1:] == st[:-1])).sum())
    minute = st // (60 * 10**9)
    ties_min = int(((su[1:] == su[:-1]) & (minute[1:] == minute[:-1])).sum())
    meta = {
        "path": path,
        "target_events": size,
        "rows": int(len(df)),
        "users": int(n_users),
        "seed": seed,
        "browse_events": BROWSE_EVENTS,
        "events_per_user": len(df) / n_users,
        "funnel_event_share": float(ev.isin(FUNNEL_EVENTS).mean()),
        "event_counts": {str(k): int(v) for k, v in ev.value_counts().items()},
        "same_user_same_ms_pairs": ties,
        "same_user_same_minute_pairs": ties_min,
        "call": f"make_shop(n_users={n_users}, seed={seed}, browse_events={BROWSE_EVENTS})",
        "compression": PARQUET_COMPRESSION,
        "time_unit": PARQUET_TIME_UNIT,
    }
    del users, ts, order, su, st, minute
    table = pa.Table.from_pandas(df, preserve_index=False)
    del df
    tmp = path + ".tmp"
    pq.write_table(table, tmp, compression=PARQUET_COMPRESSION, coerce_timestamps=PARQUET_TIME_UNIT)
    os.replace(tmp, path)
    meta["parquet_mb"] = os.path.getsize(path) / 2**20
    meta["row_groups"] = pq.ParquetFile(path).num_row_groups
    # The tie variant: the same log with timestamps floored to whole minutes ...
    i = table.schema.get_field_index("timestamp")
    ns_per_unit = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[table.column(i).type.unit]
    minutes = pc.divide(pc.multiply(pc.cast(table.column(i), pa.int64()), ns_per_unit), 60 * 10**9)
    floored = pc.cast(pc.multiply(minutes, 60_000), pa.timestamp("ms", tz="UTC"))
    ties_table = table.set_column(i, pa.field("timestamp", floored.type), floored)
    # ... and the rows in a random order, so that the file order says nothing about ties
    perm = np.random.default_rng(seed).permutation(ties_table.num_rows)
    ties_table = ties_table.take(pa.array(perm))
    del perm
    tie_path = data_path(size, seed, "minutes_shuffled")
    pq.write_table(ties_table, tie_path + ".tmp", compression=PARQUET_COMPRESSION,
                   coerce_timestamps=PARQUET_TIME_UNIT)
    os.replace(tie_path + ".tmp", tie_path)
    meta["ties_path"] = tie_path
    with open(meta_path, "w") as fh:
        json.dump(meta, fh, indent=1)
    return meta


def hex_user_id(uid: int) -> str:
    """The 32-hex-character string id of integer user ``uid``: md5 of its decimal text."""
    import hashlib

    return hashlib.md5(str(int(uid)).encode()).hexdigest()


def generate_strid(size: int, seed: int = SEED) -> dict:
    """The string-id variant of the ``size`` log (shape b), unless cached.

    The same rows in the same (time) order and the same row groups, with each integer
    ``user_id`` replaced by :func:`hex_user_id` (32 lowercase hex characters, a plain
    Parquet string column). Written row group by row group: the peak stays small at 50M.
    Returns ``{"path", "users", "parquet_mb"}`` (also stored beside the file as ``.json``).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    src = generate(size, seed)["path"]
    path = data_path(size, seed, "strid")
    meta_path = path + ".json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as fh:
            return json.load(fh)
    pf = pq.ParquetFile(src)
    ids = pc.unique(pq.read_table(src, columns=["user_id"]).column(0)).to_numpy()
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi > 50 * len(ids) + 1000:  # pragma: no cover - make_shop's ids are 1..n_users
        raise ValueError("user ids are not a dense non-negative range")
    lut = np.full(hi + 1, "", dtype=object)
    lut[ids] = [hex_user_id(u) for u in ids.tolist()]
    lut_arr = pa.array(lut, pa.string())
    tmp = path + ".tmp"
    writer = None
    try:
        for g in range(pf.num_row_groups):
            t = pf.read_row_group(g)
            i = t.schema.get_field_index("user_id")
            hexed = lut_arr.take(t.column(i))
            # (no pandas metadata: it would still say user_id is int64)
            t = t.set_column(i, pa.field("user_id", pa.string(), nullable=False), hexed).replace_schema_metadata(None)
            if writer is None:
                writer = pq.ParquetWriter(tmp, t.schema, compression=PARQUET_COMPRESSION,
                                          coerce_timestamps=PARQUET_TIME_UNIT)
            writer.write_table(t, row_group_size=t.num_rows)
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, path)
    meta = {"path": path, "source": src, "users": int(len(ids)), "id": "md5(str(user_id)), 32 hex chars",
            "parquet_mb": os.path.getsize(path) / 2**20, "row_groups": pq.ParquetFile(path).num_row_groups}
    with open(meta_path, "w") as fh:
        json.dump(meta, fh, indent=1)
    return meta
