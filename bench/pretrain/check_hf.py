"""Checks that transformers loads the checkpoints of a `multiberts pretrain` run: every
`step_*` folder as BertForPreTraining with no missing, unexpected or mismatched keys, and as
BertForSequenceClassification with only the new classifier missing; then one forward pass.

Usage: check_hf.py RUN_DIR   (run by `just pretrain-check`)
"""

import pathlib
import sys

import torch
from transformers import BertForPreTraining, BertForSequenceClassification, BertTokenizer

run = pathlib.Path(sys.argv[1])
steps = sorted(run.glob("step_*"), key=lambda p: int(p.name.split("_")[1]))
assert steps, f"no step_* folders in {run}"
for step in steps:
    model, info = BertForPreTraining.from_pretrained(step, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v and k != "error_msgs"}
    assert not problems, f"{step}: {problems}"
    tied = model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    assert tied, f"{step}: the decoder is not tied to the word embeddings"
    tokenizer = BertTokenizer.from_pretrained(step)
    batch = tokenizer(["The river flows [MASK] the sea."], return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).prediction_logits
    assert torch.isfinite(logits).all()
    _, info = BertForSequenceClassification.from_pretrained(step, num_labels=2, output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"], info
    print(f"{step}: loads as BertForPreTraining (no missing or unexpected keys, decoder tied) and as BertForSequenceClassification")
