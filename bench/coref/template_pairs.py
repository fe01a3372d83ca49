"""Where a Winogender-evaluated model's signal is: accuracy, and template pairs ordered right.

Each Winogender occupation has two templates with opposite answers; rendered with the same
participant (or "someone") and pronoun gender they form 360 pairs of sentences. A model that
has learned which candidate the predicate favours gives d = p(occupation) - p(participant) a
larger value in the pair's answer-0 sentence than in its answer-1 sentence, whatever its
overall preference for one candidate. This prints, per run, accuracy, the share of pairs so
ordered, and accuracy by pronoun gender, "someone" and answer (docs/coref.md, "Real check").

    python bench/coref/template_pairs.py results/NAME/predictions/TASK.parquet \
        results/NAME/upstream/coref/TASK/label_info.tsv

Needs pandas and pyarrow (`pip install pandas pyarrow`).
"""

import sys

import numpy as np
import pandas as pd


def main(predictions: str, label_info: str) -> None:
    table = pd.read_parquet(predictions)
    labels = pd.read_csv(label_info, sep="\t", index_col=0).reset_index(drop=True)
    for job, run in table.groupby("job_id", sort=False):
        run = run.sort_values("example_index").reset_index(drop=True)
        if len(run) != len(labels):
            sys.exit(f"{predictions}: job {job} has {len(run)} rows, {label_info} has {len(labels)}")
        answer = labels["answer"].to_numpy()
        if not (run["label"].to_numpy() == answer).all():
            sys.exit(f"{predictions}: job {job}'s labels are not label_info.tsv's answers")
        scores = np.stack(run["scores"].to_numpy())
        d = scores[:, 0] - scores[:, 1]
        right = run["prediction"].to_numpy() == answer
        key = labels["occupation"] + "|" + labels["someone"].astype(str) + "|" + labels["gender"]
        ordered = pairs = 0
        for rows in labels.groupby(key).groups.values():
            zero = [i for i in rows if answer[i] == 0]
            one = [i for i in rows if answer[i] == 1]
            for i in zero:
                for j in one:
                    pairs += 1
                    ordered += d[i] > d[j]
        groups = ", ".join(
            f"{col}={value}: {right[(labels[col] == value).to_numpy()].mean():.3f}"
            for col in ("gender", "someone", "answer")
            for value in sorted(labels[col].unique(), key=str)
        )
        print(
            f"{job}: accuracy {right.mean():.4f}, template pairs ordered right "
            f"{ordered / pairs:.4f} of {pairs}; {groups}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
