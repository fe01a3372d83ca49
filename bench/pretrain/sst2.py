"""SST-2 as the miniature recipe's Python checks read it: GLUE's train.tsv and dev.tsv
(`sentence<TAB>label`, a header line, no quoting)."""

import csv


def read_tsv(path):
    """(sentence, label) pairs of a GLUE SST-2 file, in file order."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        return [(row[0], int(row[1])) for row in rows]
