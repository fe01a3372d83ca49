"""PyTorch + transformers side of the model benchmark (see bench/model/run.sh).

Times one training step (forward + backward + clip_grad_norm_ + AdamW) or one eval forward of
BertForSequenceClassification on a random batch shaped like the Rust bench (16 x 128, last
quarter of each row padded, 2 labels), with eager attention, and prints one JSON line with the
median time and the process's peak RSS. One (size, mode) per process.
"""

import json
import resource
import statistics
import sys
import time

import torch
from transformers import BertConfig, BertForSequenceClassification

BATCH, SEQ = 16, 128
import os
FUSED = os.environ.get("TORCH_ADAMW_FUSED", "1") == "1"
SIZES = {
    "tiny": dict(num_hidden_layers=2, hidden_size=128, num_attention_heads=2, intermediate_size=512),
    "minilm": dict(num_hidden_layers=6, hidden_size=384, num_attention_heads=12, intermediate_size=1536),
    "base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
}


def main() -> None:
    size, mode = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, max_position_embeddings=512, num_labels=2, **SIZES[size])
    config._attn_implementation = "eager"  # the attention our BERT implements
    model = BertForSequenceClassification(config)
    keep = SEQ - SEQ // 4
    ids = torch.zeros(BATCH, SEQ, dtype=torch.long)
    ids[:, :keep] = torch.randint(1000, 29000, (BATCH, keep))
    mask = torch.zeros(BATCH, SEQ, dtype=torch.long)
    mask[:, :keep] = 1
    labels = torch.arange(BATCH) % 2
    # HF Trainer's default optimizer in transformers 5 is the fused torch AdamW.
    try:
        opt = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=FUSED)
    except (RuntimeError, TypeError):
        opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    times = []
    for i in range(steps + 1):
        start = time.perf_counter()
        if mode == "train":
            model.train()
            opt.zero_grad(set_to_none=True)
            out = model(input_ids=ids, attention_mask=mask, labels=labels)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        else:
            model.eval()
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask).logits.tolist()
        if i > 0:
            times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "impl": "torch", "size": size, "mode": mode,
        "median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
        "steps": steps, "peak_rss_mb": round(peak_mb), "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
