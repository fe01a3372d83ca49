"""What the miniature recipe's saved steps know about sentiment before fine-tuning: a linear
probe on frozen features (manifests/miniature.toml; docs/design-notes.md, "What the miniature's
representations know").

For each checkpoint, a logistic regression is trained on frozen features of the first N SST-2
training examples (default 1,000, as the recipe) and scored on all 872 dev sentences:
- `cls`: the last layer's `[CLS]` vector;
- `mean`: the last layer averaged over the sentence's tokens;
- `embeddings`: the embedding layer's output averaged over the tokens (no attention at all).
Features are standardised on the training set. The L2 penalty is chosen from a small grid on
the last fifth of the training examples, then the probe is refitted on all of them, so the dev
set picks nothing. A bag-of-word-pieces probe (token counts, no model) is printed first as the
floor a linear model reaches on these examples without any representation.

Usage: probe.py GLUE_DIR [--examples N] CHECKPOINT_DIR...
"""

import argparse

import torch
from transformers import BertModel, BertTokenizerFast
from transformers.utils import logging

from sst2 import read_tsv

LENGTH = 32
PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1)


def fit(x, y, penalty):
    """A logistic regression with an L2 penalty, fitted by L-BFGS; returns (weight, bias)."""
    w = torch.zeros(x.shape[1], 2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=300)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + penalty * (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return w.detach(), b.detach()


def accuracy(model, x, y):
    w, b = model
    return ((x @ w + b).argmax(1) == y).float().mean().item()


def probe(train_x, train_y, dev_x, dev_y):
    """Dev accuracy of the probe whose penalty did best on the last fifth of the training set."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, dev_x = (train_x - mean) / std, (dev_x - mean) / std
    cut = len(train_x) * 4 // 5
    scores = [
        accuracy(fit(train_x[:cut], train_y[:cut], p), train_x[cut:], train_y[cut:])
        for p in PENALTIES
    ]
    best = PENALTIES[scores.index(max(scores))]
    return accuracy(fit(train_x, train_y, best), dev_x, dev_y)


def features(model, tokenizer, rows):
    out = {"cls": [], "mean": [], "embeddings": []}
    with torch.no_grad():
        for start in range(0, len(rows), 256):
            batch = tokenizer(
                [text for text, _ in rows[start : start + 256]],
                truncation=True,
                max_length=LENGTH,
                padding=True,
                return_tensors="pt",
            )
            hidden = model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out["cls"].append(hidden[-1][:, 0])
            out["mean"].append((hidden[-1] * mask).sum(1) / mask.sum(1))
            out["embeddings"].append((hidden[0] * mask).sum(1) / mask.sum(1))
    return {name: torch.cat(parts) for name, parts in out.items()}


def word_piece_counts(tokenizer, rows):
    ids = tokenizer([text for text, _ in rows], truncation=True, max_length=LENGTH)["input_ids"]
    counts = torch.zeros(len(rows), tokenizer.vocab_size)
    for row, tokens in zip(counts, ids):
        row.index_add_(0, torch.tensor(tokens), torch.ones(len(tokens)))
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("glue_dir")
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--examples", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    # The pre-training heads (`cls.*`) are unused here; keep their load report off the output.
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    train = read_tsv(f"{args.glue_dir}/SST-2/train.tsv")[: args.examples]
    dev = read_tsv(f"{args.glue_dir}/SST-2/dev.tsv")
    train_y = torch.tensor([label for _, label in train])
    dev_y = torch.tensor([label for _, label in dev])

    tokenizer = BertTokenizerFast.from_pretrained(args.checkpoints[0])
    bow = probe(word_piece_counts(tokenizer, train), train_y, word_piece_counts(tokenizer, dev), dev_y)
    print(f"bag of word pieces (no model)\tdev accuracy {bow:.4f}", flush=True)
    for checkpoint in args.checkpoints:
        tokenizer = BertTokenizerFast.from_pretrained(checkpoint)
        model = BertModel.from_pretrained(checkpoint).eval()
        train_f, dev_f = features(model, tokenizer, train), features(model, tokenizer, dev)
        scores = "\t".join(
            f"{name} {probe(train_f[name], train_y, dev_f[name], dev_y):.4f}" for name in train_f
        )
        print(f"{checkpoint}\t{scores}", flush=True)


if __name__ == "__main__":
    main()
