#!/bin/sh
# demo-bos.sh: prompts with a BOS, end to end, on the demo Llama
# (examples/models/llama-facts, whose tokenizer puts "<s>" before every text
# as Llama's do).  For a few facts, against the training script's own
# encoder (examples/data/facts-ids.jsonl: the text's ids without the BOS,
# the subject's token range and the attribute's token):
#  - `kop tokenize` gives the BOS and then the script's ids; --no-special
#    the script's ids; the BOS has the empty span 0:0;
#  - the attribute " A" is one token, the script's target, BOS or not;
#  - a recipe with the text prompt gives the same rows as the same recipe
#    with the ids prompt (BOS first, the subject one position later, the
#    script's target_id), so kop shifted the subject's tokens past the BOS
#    and measured the attribute's token, not the BOS;
#  - `first` is the BOS: its rows equal those of tokens[0] on the ids, and
#    `subject`, `subject.last`, `context` (the BOS and the prefix) and
#    `relation` (all but the subject) those of the explicit positions;
#    blocking the BOS moves the answer somewhere (not a vacuous comparison).
# Skipped until tools/train-demo/ has made the model.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
M=$E/models/llama-facts
[ -f "$M/config.json" ] || skip "$M absent (made by tools/train-demo/train_demo.py)"
L=$(sed -n 's/.*"num_hidden_layers": *\([0-9]*\).*/\1/p' "$M/config.json")
BOS=$(sed -n 's/.*"bos_token_id": *\([0-9]*\).*/\1/p' "$M/config.json")
[ -n "$L" ] && [ -n "$BOS" ] || fail "$M/config.json: no num_hidden_layers or bos_token_id"

# field N KEY: the string KEY of record N (0-based) of facts.json (one key a line)
field() {
    awk -v n="$1" -v key="\"$2\": \"" '
        /"known_id":/ { r++ }
        r == n + 1 && index($0, key) { s = $0; sub(/^[^:]*: "/, "", s); sub(/",?[ \t]*$/, "", s); print s; exit }
    ' "$E/data/facts.json"
}

# rows FILE: the rows of a run without the experiment and statement columns
rows() { tail -n +2 "$1" | cut -d, -f4-; }

for n in 0 1 2 7; do
    prompt=$(field $n prompt) subject=$(field $n subject) attr=$(field $n attribute)
    line=$(sed -n "$((n + 1))p" "$E/data/facts-ids.jsonl")
    ids=$(echo "$line" | sed 's/.*"ids":\[\([0-9,]*\)\].*/\1/')
    a=$(echo "$line" | sed 's/.*"subject":\[\([0-9]*\),.*/\1/')
    b=$(echo "$line" | sed 's/.*"subject":\[[0-9]*,\([0-9]*\)\].*/\1/')
    target=$(echo "$line" | sed 's/.*"target_id":\([0-9]*\).*/\1/')
    [ -n "$prompt" ] && [ -n "$subject" ] && [ -n "$attr" ] && [ -n "$target" ] || fail "record $n: cannot read it"
    text_ids=$(echo "$ids" | tr , ' ')

    expect_status 0 "$KOP" tokenize "$M" --text "$prompt" --offsets
    [ "$(sed -n 1p "$TMP/out")" = "$BOS $text_ids" ] || fail "record $n: tokens '$(sed -n 1p "$TMP/out")', want '$BOS $text_ids'"
    [ "$(sed -n 2p "$TMP/out" | cut -d' ' -f1)" = 0:0 ] || fail "record $n: the BOS's span is not 0:0"
    expect_status 0 "$KOP" tokenize "$M" --text "$prompt" --no-special
    [ "$(cat "$TMP/out")" = "$text_ids" ] || fail "record $n: --no-special gives '$(cat "$TMP/out")', want '$text_ids'"
    expect_status 0 "$KOP" tokenize "$M" --text " $attr" --no-special
    [ "$(cat "$TMP/out")" = "$target" ] || fail "record $n: ' $attr' is '$(cat "$TMP/out")', not the one token $target"

    A=$((a + 1)) B=$((b + 1))
    head="target attribute
sweep k in 0..L-1
measure prob"
    groups="block first -> last in layer k
block subject -> last in layer k
block subject.last -> last in layer k
block context -> last in layer k
block relation -> last in layer k"
    cat >"$TMP/text.kop" <<EOF
experiment "bos-text"
prompt "$prompt" subject "$subject" target " $attr"
$head
$groups
EOF
    cat >"$TMP/ids.kop" <<EOF
experiment "bos-ids"
prompt ids [$BOS,$ids] subject [$A..$B] target_id $target
$head
$groups
EOF
    cat >"$TMP/pos.kop" <<EOF
experiment "bos-positions"
prompt ids [$BOS,$ids] subject [$A..$B] target_id $target
$head
block tokens[0] -> last in layer k
block tokens[$A..$B] -> last in layer k
block tokens[$B] -> last in layer k
block tokens[0..$a] -> last in layer k
block tokens[0..$a] | tokens[$((B + 1))..-1] -> last in layer k
EOF
    for r in text ids pos; do
        "$KOP" run "$TMP/$r.kop" --model "$M" --out "$TMP/$r" --quiet >/dev/null 2>"$TMP/err" ||
            { cat "$TMP/err" >&2; fail "record $n: kop run $r.kop"; }
    done
    [ "$(rows "$TMP/text/rows.csv" | wc -l)" = $((5 * L)) ] || fail "record $n: expected $((5 * L)) rows"
    rows "$TMP/text/rows.csv" | cut -d, -f6 | sort -u >"$TMP/targets"
    [ "$(cat "$TMP/targets")" = "$target" ] || fail "record $n: measured token $(cat "$TMP/targets"), not $target"
    rows "$TMP/text/rows.csv" >"$TMP/text.rows"
    rows "$TMP/ids/rows.csv" >"$TMP/ids.rows"
    rows "$TMP/pos/rows.csv" >"$TMP/pos.rows"
    cmp -s "$TMP/text.rows" "$TMP/ids.rows" || fail "record $n: the text prompt's rows differ from the ids prompt's"
    cmp -s "$TMP/ids.rows" "$TMP/pos.rows" || fail "record $n: first/subject rows differ from tokens[0]/tokens[$A..$B]"
    # columns: k t layer_lo layer_hi prompt target_id p_clean p_base p_after value
    head -n "$L" "$TMP/text.rows" | awk -F, '$9 != $8 { moved = 1 } END { exit !moved }' ||
        fail "record $n: blocking the BOS never changes the answer's probability"
done
exit 0
