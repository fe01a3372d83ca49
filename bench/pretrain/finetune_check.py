"""An independent check of the miniature recipe's fine-tuning (manifests/miniature.toml): fine-tune
saved pre-training steps with Hugging Face's BertForSequenceClassification, the recipe's
settings (first 1,000 SST-2 training examples, 6 epochs, batch 16, lr 1e-3, 10 % warm-up then
linear decay, AdamW with weight decay 0.01 except biases and LayerNorm, clipping at 1.0,
length 32), and print SST-2 dev accuracy, one line per checkpoint. It shares no code with the
Rust runner, so agreement in the mean says the learning curve is the recipe's, not ours.

Options change one setting for an experiment (docs/design-notes.md): --examples, --epochs,
--lr, --length.

Usage: finetune_check.py GLUE_DIR SEED [--examples N] [--epochs N] [--lr LR] [--length N]
       CHECKPOINT_DIR...
"""

import argparse

import torch
from transformers import (
    BertForSequenceClassification,
    BertTokenizerFast,
    get_linear_schedule_with_warmup,
)

from sst2 import read_tsv

BATCH = 16


def encode(tokenizer, rows, length):
    batch = tokenizer(
        [text for text, _ in rows],
        truncation=True,
        max_length=length,
        padding=True,
        return_tensors="pt",
    )
    return batch, torch.tensor([label for _, label in rows])


def optimizer_for(model, lr):
    no_decay = ("bias", "LayerNorm")
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if not any(k in n for k in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, eps=1e-6)


def fine_tune(checkpoint, train, dev, args):
    tokenizer = BertTokenizerFast.from_pretrained(checkpoint)
    torch.manual_seed(args.seed)
    model = BertForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    optimizer = optimizer_for(model, args.lr)
    steps = args.epochs * ((len(train) + BATCH - 1) // BATCH)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    order_rng = torch.Generator().manual_seed(args.seed)
    model.train()
    for _ in range(args.epochs):
        order = torch.randperm(len(train), generator=order_rng).tolist()
        for start in range(0, len(order), BATCH):
            batch = [train[i] for i in order[start : start + BATCH]]
            inputs, labels = encode(tokenizer, batch, args.length)
            model(**inputs, labels=labels).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(dev), 128):
            inputs, labels = encode(tokenizer, dev[start : start + 128], args.length)
            correct += (model(**inputs).logits.argmax(-1) == labels).sum().item()
    return correct / len(dev)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("glue_dir")
    parser.add_argument("seed", type=int)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--length", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = read_tsv(f"{args.glue_dir}/SST-2/train.tsv")[: args.examples]
    dev = read_tsv(f"{args.glue_dir}/SST-2/dev.tsv")
    for checkpoint in args.checkpoints:
        accuracy = fine_tune(checkpoint, train, dev, args)
        print(f"{checkpoint}\tseed {args.seed}\tdev accuracy {accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
