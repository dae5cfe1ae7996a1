#!/usr/bin/env bash
# Cold start: each stream of a labelled set scored with no saved model (a fresh channel every
# stream), against the usual warm run where the channel's model carries over stream to stream.
#   infra/scripts/cold-start.sh [DATA_DIR/kimdoe] [clipper binary] [extra eval flags...]
set -euo pipefail
dir=${1:-../shared/data/kimdoe}
clipper=${2:-target/release/clipper}
shift $(( $# > 2 ? 2 : $# ))
caught=0; labels=0; clips=0; hours=0
for f in $(ls "$dir"/*.tsv | sort); do
    out=$("$clipper" eval --json "$@" --labels "$dir/labels.csv" "$f" 2>/dev/null)
    read -r c l h cph < <(python3 -c 'import json,sys; d=json.load(sys.stdin); o=d["ours"]; print(o["caught_at_4"], o["labels"], d["hours"], o["clips_per_hour"])' <<<"$out")
    caught=$((caught + c)); labels=$((labels + l))
    clips=$(python3 -c "print($clips + $cph * $h)"); hours=$(python3 -c "print($hours + $h)")
done
warm=$("$clipper" eval --json "$@" --labels "$dir/labels.csv" $(ls "$dir"/*.tsv | sort) 2>/dev/null \
    | python3 -c 'import json,sys; o=json.load(sys.stdin)["ours"]; print("%.2f (%d/%d), %.2f clips/h" % (o["recall_at_4"], o["caught_at_4"], o["labels"], o["clips_per_hour"]))')
python3 -c "print(f'cold (fresh model every stream): recall@4/h {$caught/$labels:.2f} ($caught/$labels), {$clips/$hours:.2f} clips/h')"
echo "warm (model carried over):        recall@4/h $warm"
