"""The PyTorch side of the sweep benchmark (bench/sweep/run.sh): one fine-tuning run written as
a plain PyTorch + transformers loop, the way a Hugging Face user writes one, with the settings
of the multiberts job it is compared with.

Reads a GLUE TSV split pair, tokenizes with the checkpoint's fast tokenizer (truncation at
--max-len, each batch padded to its longest row, as DataCollatorWithPadding does), fine-tunes
BertForSequenceClassification (AdamW without decay on biases and LayerNorm weights, linear
warm-up and decay, gradient clipping at 1.0, dropout on), evaluates on the whole evaluation
split in file order under torch.no_grad() after every epoch, and writes the last evaluation's
class scores to a CSV. Prints one JSON line: wall time from process start, the phases, peak RSS
and dev accuracy. One run per process, as a sweep of HF scripts runs.
"""

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertForSequenceClassification,
    get_linear_schedule_with_warmup,
)


def read_tsv(path, text_a, text_b, label, labels, limit=None):
    """Rows of a GLUE TSV file: (text_a, text_b or None, label index)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            rows.append((row[text_a], row[text_b] if text_b else None, labels.index(row[label].strip())))
            if limit is not None and len(rows) == limit:
                break
    return rows


def encode(tokenizer, rows, max_len):
    a = [r[0] for r in rows]
    b = [r[1] for r in rows] if rows[0][1] is not None else None
    enc = tokenizer(a, b, truncation=True, max_length=max_len)
    return [
        (enc["input_ids"][i], enc["token_type_ids"][i], rows[i][2]) for i in range(len(rows))
    ]


def collate(features, idx):
    """One batch padded to its longest row."""
    t = max(len(features[i][0]) for i in idx)
    ids = torch.zeros(len(idx), t, dtype=torch.long)
    types = torch.zeros(len(idx), t, dtype=torch.long)
    mask = torch.zeros(len(idx), t, dtype=torch.long)
    for r, i in enumerate(idx):
        n = len(features[i][0])
        ids[r, :n] = torch.tensor(features[i][0])
        types[r, :n] = torch.tensor(features[i][1])
        mask[r, :n] = 1
    labels = torch.tensor([features[i][2] for i in idx])
    return ids, types, mask, labels


def evaluate(model, features, batch):
    model.eval()
    scores = []
    with torch.no_grad():
        for start in range(0, len(features), batch):
            idx = list(range(start, min(start + batch, len(features))))
            ids, types, mask, _ = collate(features, idx)
            logits = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
            scores.extend(torch.softmax(logits, -1).tolist())
    model.train()
    return scores


TASKS = {
    "sst2": dict(text_a="sentence", text_b=None, label="label", labels=["0", "1"],
                 train="SST-2/train.tsv", dev="SST-2/dev.tsv"),
    "qnli-dev": dict(text_a="question", text_b="sentence", label="label",
                     labels=["entailment", "not_entailment"], train="QNLI/dev.tsv", dev="QNLI/dev.tsv"),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="the GLUE folder")
    p.add_argument("--task", default="sst2", choices=sorted(TASKS))
    p.add_argument("--train-examples", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--eval-batch", type=int, default=32)
    p.add_argument("--max-len", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    phases = {"startup": time.perf_counter() - T0}

    t = time.perf_counter()
    task = TASKS[a.task]
    tokenizer = AutoTokenizer.from_pretrained(a.model)
    train_rows = read_tsv(os.path.join(a.data, task["train"]), task["text_a"], task["text_b"],
                          task["label"], task["labels"], a.train_examples)
    dev_rows = read_tsv(os.path.join(a.data, task["dev"]), task["text_a"], task["text_b"],
                        task["label"], task["labels"])
    train = encode(tokenizer, train_rows, a.max_len)
    dev = encode(tokenizer, dev_rows, a.max_len)
    phases["data"] = time.perf_counter() - t

    t = time.perf_counter()
    model = BertForSequenceClassification.from_pretrained(a.model, num_labels=len(task["labels"]))
    model.train()
    phases["model"] = time.perf_counter() - t

    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": a.weight_decay},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    try:  # HF Trainer's default optimizer in transformers 5 is torch's fused AdamW
        opt = torch.optim.AdamW(groups, lr=a.lr, eps=1e-6, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.AdamW(groups, lr=a.lr, eps=1e-6)
    per_epoch = (len(train) + a.batch - 1) // a.batch
    total = per_epoch * a.epochs
    sched = get_linear_schedule_with_warmup(opt, int(a.warmup_ratio * total + 0.5), total)
    gen = torch.Generator().manual_seed(a.seed)
    train_s = eval_s = 0.0
    for _ in range(a.epochs):
        t = time.perf_counter()
        order = torch.randperm(len(train), generator=gen).tolist()
        for start in range(0, len(order), a.batch):
            ids, types, mask, labels = collate(train, order[start:start + a.batch])
            loss = model(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
        train_s += time.perf_counter() - t
        t = time.perf_counter()
        scores = evaluate(model, dev, a.eval_batch)
        eval_s += time.perf_counter() - t
    phases["train"] = train_s
    phases["eval"] = eval_s

    t = time.perf_counter()
    os.makedirs(a.out, exist_ok=True)
    correct = 0
    with open(os.path.join(a.out, f"predictions-{a.task}-seed{a.seed}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "label", "prediction", "scores"])
        for i, (s, row) in enumerate(zip(scores, dev)):
            pred = max(range(len(s)), key=s.__getitem__)
            correct += pred == row[2]
            w.writerow([i, row[2], pred, json.dumps(s)])
    phases["write"] = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "impl": "torch", "task": a.task, "seed": a.seed,
        "wall_s": time.perf_counter() - T0,
        "phases_s": {k: round(v, 3) for k, v in phases.items()},
        "peak_bytes": peak, "accuracy": correct / len(dev),
        "torch": torch.__version__, "threads": a.threads,
    }), flush=True)


if __name__ == "__main__":
    main()
