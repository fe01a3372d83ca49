"""PyTorch reference for pre-training on the bert-tiny fixture: BertForPreTraining's masked-LM
and next-sentence losses and every gradient of one step, on a masked version of the fixture's
MRPC pair batch. Written to crates/model/tests/fixtures/pretraining.safetensors and read by
crates/model/tests/pretraining.rs.

Run through `just pretrain-fixture` (pinned torch 2.15.0, transformers 5.24.0, 1 CPU thread,
float32, eval mode so that dropout is off). The masking here is deliberately independent of
ours: a numpy RandomState(0) picks 15 % of each row's real non-special tokens and applies
80/10/10; the test feeds the masked ids, positions and labels stored in the file.

Usage: make_fixture.py SHARED_FIXTURES_DIR OUT_FILE
"""

import json
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import BertForPreTraining

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

shared, out = sys.argv[1], sys.argv[2]
model = BertForPreTraining.from_pretrained(f"{shared}/bert-tiny").float().eval()
batch = json.load(open(f"{shared}/bert-tiny/batch.json"))["pairs"]
ids = np.array(batch["input_ids"], dtype=np.int64)
types = np.array(batch["token_type_ids"], dtype=np.int64)
mask = np.array(batch["attention_mask"], dtype=np.int64)
B, T = ids.shape
SPECIAL = {0, 100, 101, 102, 103}
MASK_ID, VOCAB = 103, model.config.vocab_size

rng = np.random.RandomState(0)
masked = ids.copy()
labels = np.full_like(ids, -100)
for b in range(B):
    cands = [t for t in range(T) if mask[b, t] == 1 and ids[b, t] not in SPECIAL]
    n = max(1, int(round(0.15 * len(cands))))
    for t in sorted(rng.choice(cands, size=n, replace=False)):
        labels[b, t] = ids[b, t]
        r = rng.rand()
        if r < 0.8:
            masked[b, t] = MASK_ID
        elif r < 0.9:
            masked[b, t] = rng.randint(999, VOCAB)
nsp = np.array([b % 2 for b in range(B)], dtype=np.int64)

out_t = model(
    input_ids=torch.tensor(masked),
    token_type_ids=torch.tensor(types),
    attention_mask=torch.tensor(mask),
    labels=torch.tensor(labels),
    next_sentence_label=torch.tensor(nsp),
)
xent = torch.nn.CrossEntropyLoss()
mlm = xent(out_t.prediction_logits.view(-1, VOCAB), torch.tensor(labels).view(-1))
nsp_loss = xent(out_t.seq_relationship_logits.view(-1, 2), torch.tensor(nsp))
out_t.loss.backward()

positions = np.flatnonzero(labels.reshape(-1) != -100)
tensors = {
    "input_ids": torch.tensor(masked, dtype=torch.int64),
    "token_type_ids": torch.tensor(types, dtype=torch.int64),
    "attention_mask": torch.tensor(mask, dtype=torch.int64),
    "mlm_positions": torch.tensor(positions, dtype=torch.int64),
    "mlm_labels": torch.tensor(labels.reshape(-1)[positions], dtype=torch.int64),
    "nsp_labels": torch.tensor(nsp),
    "loss": out_t.loss.detach().reshape(()),
    "mlm_loss": mlm.detach().reshape(()),
    "nsp_loss": nsp_loss.detach().reshape(()),
    "mlm_logits[masked]": out_t.prediction_logits.detach().view(-1, VOCAB)[positions][:, :512].contiguous(),
}
# Vocabulary-sized gradients (the tied word embeddings get one from every logit) are stored as
# the rows of the batch's ids, the labels and a fixed sample, plus their float64 sum and sum of
# squares over the whole tensor: the full tensors would make the file 4 MB.
rows = sorted(set(ids.reshape(-1)) | set(masked.reshape(-1)) | set(range(0, VOCAB, 997)))
tensors["rows"] = torch.tensor(rows, dtype=torch.int64)
for name, p in model.named_parameters():
    if p.grad is None:
        continue
    g = p.grad.detach()
    if g.shape[0] == VOCAB:
        tensors[f"grad.{name}[rows]"] = g[rows].contiguous()
        tensors[f"grad.{name}[sum]"] = g.double().sum().reshape(())
        tensors[f"grad.{name}[sumsq]"] = (g.double() ** 2).sum().reshape(())
    else:
        tensors[f"grad.{name}"] = g.contiguous()
save_file(tensors, out, metadata={"torch": torch.__version__, "transformers": __import__("transformers").__version__})
print(f"{out}: loss {out_t.loss.item():.6f} (mlm {mlm.item():.6f}, nsp {nsp_loss.item():.6f}), "
      f"{len(positions)} masked positions, {len(tensors)} tensors")
