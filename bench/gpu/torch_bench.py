"""PyTorch side of the GPU speed check (bench/gpu/check.sh, item c).

Times one training step (forward + backward + clip_grad_norm_ + fused AdamW, as HF Trainer
does) and one eval forward (logits read back) of a random-init BertForSequenceClassification
at BERT-base size on cuda:0, on a random batch shaped as `multiberts device-check bench` builds
it (the last quarter of each row padded, labels alternating), in
- fp32: float32 matmuls (TF32 off),
- tf32: float32 tensors with TF32 matmuls (torch.backends.cuda.matmul.allow_tf32),
- bf16: torch.autocast(dtype=torch.bfloat16) with float32 weights (HF Trainer's --bf16).
Attention is transformers' default (sdpa). Prints one JSON line per mode with the median time.
"""

import argparse
import json
import statistics
import time

import torch
from transformers import BertConfig, BertForSequenceClassification


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    dev = torch.device("cuda:0")
    tf32 = a.precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, max_position_embeddings=512, num_labels=2,
                        num_hidden_layers=12, hidden_size=768, num_attention_heads=12,
                        intermediate_size=3072)
    model = BertForSequenceClassification(config).to(dev)
    keep = a.seq - a.seq // 4
    ids = torch.zeros(a.batch, a.seq, dtype=torch.long)
    ids[:, :keep] = torch.randint(1000, 29000, (a.batch, keep))
    mask = torch.zeros(a.batch, a.seq, dtype=torch.long)
    mask[:, :keep] = 1
    ids, mask = ids.to(dev), mask.to(dev)
    labels = (torch.arange(a.batch) % 2).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=True)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.precision == "bf16")
    for mode in ("train", "eval"):
        times = []
        for i in range(a.steps + 1):
            torch.cuda.synchronize()
            start = time.perf_counter()
            if mode == "train":
                model.train()
                opt.zero_grad(set_to_none=True)
                with autocast:
                    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                torch.cuda.synchronize()
            else:
                model.eval()
                with torch.no_grad(), autocast:
                    model(input_ids=ids, attention_mask=mask).logits.float().tolist()
            if i > 0:
                times.append(time.perf_counter() - start)
        print(json.dumps({
            "impl": "torch", "mode": mode, "precision": a.precision, "size": "base",
            "batch": a.batch, "seq": a.seq, "median_s": statistics.median(times),
            "min_s": min(times), "steps": a.steps, "torch": torch.__version__,
            "attn": model.config._attn_implementation,
        }), flush=True)


if __name__ == "__main__":
    main()
