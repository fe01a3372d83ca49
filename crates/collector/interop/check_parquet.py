"""Interop check of the predictions Parquet contract and the GLUE export with pyarrow, pandas
and polars (run by hand or by a recipe; the Rust tests do not need Python).

    cargo build -p multiberts-collector --example predictions_io
    python crates/collector/interop/check_parquet.py target/debug/examples/predictions_io

Needs pyarrow, pandas, polars and numpy. Exits non-zero on the first mismatch.
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

EXPECTED = {
    "job_id": pa.string(),
    "task": pa.string(),
    "variant": pa.string(),
    "split": pa.string(),
    "checkpoint": pa.string(),
    "pretrain_seed": pa.int64(),
    "step": pa.int64(),
    "learning_rate": pa.float64(),
    "finetune_seed": pa.int64(),
    "example_index": pa.int64(),
    "example_id": pa.string(),
    "label": pa.float64(),
    "prediction": pa.float64(),
    "scores": pa.list_(pa.field("item", pa.float32(), nullable=False)),
}
NULLABLE = {"pretrain_seed", "step"}


def run(tool, *args):
    done = subprocess.run([tool, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{tool} {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def main(tool):
    tmp = tempfile.mkdtemp(prefix="collector-interop-")
    ours = os.path.join(tmp, "ours.parquet")
    run(tool, "write", ours)

    schema = pq.read_schema(ours)
    assert schema.names == list(EXPECTED), schema.names
    for name, typ in EXPECTED.items():
        field = schema.field(name)
        assert field.type == typ, (name, field.type)
        assert field.nullable == (name in NULLABLE), (name, field.nullable)

    df = pd.read_parquet(ours, dtype_backend="numpy_nullable")
    assert str(df.pretrain_seed.dtype) == "Int64" and df.pretrain_seed.isna().sum() == 3
    assert list(df.scores.iloc[0]) == [0.0, 0.5, 1.0] and list(df.scores.iloc[3]) == [0.0]
    plf = pl.read_parquet(ours)
    assert plf.schema["scores"] == pl.List(pl.Float32) and plf.schema["step"] == pl.Int64
    assert plf["pretrain_seed"].null_count() == 3

    # Files written back by each library read through our schema checks unchanged.
    reference = run(tool, "read", ours)
    written = {
        "pandas_default": lambda p: pd.read_parquet(ours).to_parquet(p),
        "pandas_nullable": lambda p: df.to_parquet(p),
        "polars": lambda p: plf.write_parquet(p),
        "pyarrow_snappy": lambda p: pq.write_table(pq.read_table(ours), p, compression="snappy"),
    }
    for name, write in written.items():
        path = os.path.join(tmp, name + ".parquet")
        write(path)
        got = run(tool, "read", path)
        assert got == reference, f"{name}: rows differ after the round trip"
        print(f"ok  {name}")

    # The GLUE export runs through the notebook's own loading code.
    mnli = os.path.join(tmp, "mnli.parquet")
    base = plf.filter(pl.col("job_id") == "a1b2c3")
    pl.concat([base, base.with_columns(pl.lit("e7f8").alias("job_id"), pl.lit(1, pl.Int64).alias("finetune_seed"))]).write_parquet(mnli)
    root = os.path.join(tmp, "GLUE")
    run(tool, "glue", mnli, root, "MNLI")
    index = pd.read_csv(os.path.join(root, "index.tsv"), sep="\t")
    index = index[(index.task == "MNLI") & (index.release == "multiberts")]
    labels = np.loadtxt(os.path.join(root, "MNLI_dev_labels")).astype(int)
    preds = [np.argmax(np.loadtxt(os.path.join(root, f), delimiter="\t"), axis=1) for f in index.file]
    assert len(preds) == 2 and all(p.tolist() == [2, 2, 2] for p in preds)
    assert labels.tolist() == [0, 1, 2]
    assert index.lr.tolist() == [2e-05, 2e-05] and index.n_steps.tolist() == ["2M", "2M"]
    print("ok  GLUE export read by the notebook code")


if __name__ == "__main__":
    main(sys.argv[1])
