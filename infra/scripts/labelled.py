"""What the analysis scripts (learn-weights, small-chat-gates, rule-frontier) share: the labels."""

import os
from collections import defaultdict


def labels_of(data, name):
    """A set's labels.csv: dota2 {vod: [(s, e)]}; kimdoe {vod: [o]}."""
    out = defaultdict(list)
    with open(os.path.join(data, name, "labels.csv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            p = line.strip().split(",")
            if len(p) == 3:
                out[p[0]].append((float(p[1]), float(p[2])))
            elif len(p) == 2:
                out[p[0]].append(float(p[1]))
    return out
