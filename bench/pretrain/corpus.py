"""The offline pre-training corpus of the miniature MultiBERTs recipe: English text from
../shared/data, in BERT's input layout (one sentence per line, a blank line between documents).

Sources (see ../shared/data/*/SOURCES.md for origins and licences):
- SQuAD 2.0 samples (train and dev): each Wikipedia paragraph is a document, split into
  sentences at ". ", "! ", "? " before a capital letter;
- GLUE QNLI dev: Wikipedia sentences, 10 per document (the file keeps no article boundaries);
- GLUE MRPC train: news sentence pairs, 5 pairs per document;
- GLUE SST-2 train: movie-review sentences and phrases, 20 per document (no labels are used).
Dev and test splits of SST-2 are left out, so fine-tuning on SST-2 evaluates on unseen text.

Usage: corpus.py SHARED_DATA_DIR OUT_FILE
"""

import csv
import json
import re
import sys

shared, out = sys.argv[1], sys.argv[2]
SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
documents = []

for name in ("train-v2.0.sample.json", "dev-v2.0.sample.json"):
    data = json.load(open(f"{shared}/squad/{name}", encoding="utf-8"))["data"]
    for article in data:
        for paragraph in article["paragraphs"]:
            documents.append(SPLIT.split(paragraph["context"].strip()))


def tsv_column(path, column):
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows)
        index = header.index(column)
        return [row[index] for row in rows if len(row) > index]


def grouped(lines, size):
    return [lines[i : i + size] for i in range(0, len(lines), size)]


documents += grouped(tsv_column(f"{shared}/glue/QNLI/dev.tsv", "sentence"), 10)
mrpc = tsv_column(f"{shared}/glue/MRPC/train.tsv", "#1 String")
mrpc2 = tsv_column(f"{shared}/glue/MRPC/train.tsv", "#2 String")
documents += grouped([s for pair in zip(mrpc, mrpc2) for s in pair], 10)
documents += grouped(tsv_column(f"{shared}/glue/SST-2/train.tsv", "sentence"), 20)

with open(out, "w", encoding="utf-8") as f:
    for doc in documents:
        lines = [s.strip() for s in doc if s.strip()]
        if lines:
            f.write("\n".join(lines) + "\n\n")
words = sum(len(s.split()) for doc in documents for s in doc)
print(f"{out}: {len(documents)} documents, {words} words")
