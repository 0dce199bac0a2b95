#!/bin/sh
# tokenize.sh: `kop tokenize` on the real tokenizers: every vector of
# $SHARED/tokenizers/vectors.json gives the listed ids through the command,
# for both tokenizers, and its --offsets tile the text; then the exit
# statuses and messages for bad tokenizer files, bad text and bad usage;
# a template's special tokens and --no-special.
. "$KOP_SRCDIR/tests/setup.sh"
need_shared tokenizers
TOK=$SHARED/tokenizers

# Split vectors.json (pretty-printed: one "text" line, then one id a line)
# into $TMP/text.N, $TMP/gpt-neox-20b.N and $TMP/gpt2.N.  JSON escapes other
# than \n \t \r \" \\ \/ stop the test rather than pass silently.
awk -v dir="$TMP" '
function unescape(s,   out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c != "\\") { out = out c; continue }
        c = substr(s, ++i, 1)
        if (c == "n") out = out "\n"; else if (c == "t") out = out "\t"
        else if (c == "r") out = out "\r"; else if (c == "\"" || c == "\\" || c == "/") out = out c
        else { print "unsupported escape \\" c > "/dev/stderr"; exit 3 }
    }
    return out
}
/"text": "/ {
    n++; s = $0; sub(/^[^"]*"text": "/, "", s); sub(/",[ \t]*$/, "", s); sub(/"[ \t]*$/, "", s)
    f = dir "/text." n; printf "%s", unescape(s) > f; close(f); next
}
/"(gpt-neox-20b|gpt2)": \[/ {
    key = $0; sub(/^[^"]*"/, "", key); sub(/".*/, "", key); ids = ""
    if ($0 ~ /\]/) { f = dir "/" key "." n; print "" > f; close(f); key = "" }
    next
}
key != "" && /^[ \t]*[0-9]+,?[ \t]*$/ { v = $0; gsub(/[ \t,]/, "", v); ids = ids (ids == "" ? "" : " ") v; next }
key != "" && /\]/ { f = dir "/" key "." n; print ids > f; close(f); key = ""; next }
END { print n > (dir "/count") }
' "$TOK/vectors.json" || fail "cannot read $TOK/vectors.json"
count=$(cat "$TMP/count")
[ "$count" -ge 14 ] || fail "only $count vectors in vectors.json"

# check_offsets TEXTFILE: the second line of $TMP/out tiles the text's bytes.
check_offsets() {
    len=$(wc -c < "$1" | tr -d ' ')
    sed -n 2p "$TMP/out" | awk -v len="$len" '
        { pos = 0; for (i = 1; i <= NF; i++) { split($i, p, ":"); if (p[1] != pos || p[2] < p[1]) exit 1; pos = p[2] } }
        END { exit pos != len }' || fail "offsets '$(sed -n 2p "$TMP/out")' do not tile $len bytes"
}

for name in gpt-neox-20b gpt2; do
    i=1
    while [ "$i" -le "$count" ]; do
        text=$(cat "$TMP/text.$i"; printf x)
        text=${text%x}
        expect_status 0 "$KOP" tokenize "$TOK/$name" --text "$text" --offsets
        want=$(cat "$TMP/$name.$i")
        got=$(sed -n 1p "$TMP/out")
        [ "$got" = "$want" ] || fail "$name vector $i: got '$got', want '$want'"
        check_offsets "$TMP/text.$i"
        i=$((i + 1))
    done
done

# Files named directly; exact offsets across an added token and a newline run.
expect_status 0 "$KOP" tokenize "$TOK/gpt-neox-20b/tokenizer.json" --text "$(printf 'Hi  Hello\n\n  x')" --offsets
[ "$(cat "$TMP/out")" = "$(printf '12764 50276 12092 535 50276 89\n0:2 2:4 4:9 9:11 11:13 13:14')" ] ||
    fail "NeoX offsets: $(cat "$TMP/out")"
expect_status 0 "$KOP" tokenize "$TOK/gpt2/vocab.json" --text "emoji 🦙 and ½" --offsets
# The llama's 4 bytes make 3 tokens: the first covers the character, the others are empty at its end.
[ "$(cat "$TMP/out")" = "$(printf '368 31370 12520 99 247 290 25208\n0:2 2:5 5:10 10:10 10:10 10:14 14:17')" ] ||
    fail "GPT-2 offsets: $(cat "$TMP/out")"
expect_status 0 "$KOP" tokenize "$TOK/gpt2" --text ""
[ "$(cat "$TMP/out")" = "" ] || fail "empty text gives '$(cat "$TMP/out")'"

# A template: the ids kop feeds the model start with the BOS; --no-special
# leaves it out.  Characters as symbols (no ByteLevel), "a b" merged.
mkdir "$TMP/tpl"
cat > "$TMP/tpl/tokenizer.json" <<'JSON'
{"added_tokens": [{"id": 3, "content": "<s>", "special": true, "normalized": false}],
 "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"}, "decoder": null,
 "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
   {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [3], "tokens": ["<s>"]}}},
 "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
JSON
expect_status 0 "$KOP" tokenize "$TMP/tpl" --text "ab a" --offsets
[ "$(cat "$TMP/out")" = "$(printf '3 2 0\n0:0 0:3 3:4')" ] || fail "template: $(cat "$TMP/out")"
expect_status 0 "$KOP" tokenize "$TMP/tpl" --text "ab a" --no-special
[ "$(cat "$TMP/out")" = "2 0" ] || fail "--no-special: $(cat "$TMP/out")"
# A tokenizer_config.json beside it, as transformers reads it: no BOS, an EOS.
printf '{"add_bos_token": false, "add_eos_token": true, "eos_token": "b"}' > "$TMP/tpl/tokenizer_config.json"
expect_status 0 "$KOP" tokenize "$TMP/tpl" --text "ab a"
[ "$(cat "$TMP/out")" = "2 0 1" ] || fail "tokenizer_config.json: $(cat "$TMP/out")"
printf '{"add_bos_token": true, "bos_token": "<nope>"}' > "$TMP/tpl/tokenizer_config.json"
expect_status 1 "$KOP" tokenize "$TMP/tpl" --text "ab a"
grep -q 'tokenizer_config.json: bos_token "<nope>" is not a token' "$TMP/err" || fail "unknown BOS: $(cat "$TMP/err")"

# Bad tokenizer files: status 1, a message naming the file and the problem.
printf '{"model": {"vocab": {"a": 0}, "merges": [' > "$TMP/truncated.json"
expect_status 1 "$KOP" tokenize "$TMP/truncated.json" --text hi
grep -q "^kop: error: $TMP/truncated.json:1:.*invalid JSON" "$TMP/err" || fail "truncated file: $(cat "$TMP/err")"
printf '{"model": {"type": "WordPiece", "vocab": {"a": 0}}}' > "$TMP/wordpiece.json"
expect_status 1 "$KOP" tokenize "$TMP/wordpiece.json" --text hi
grep -q 'model.type "WordPiece" is not supported' "$TMP/err" || fail "WordPiece: $(cat "$TMP/err")"
mkdir "$TMP/empty"
expect_status 1 "$KOP" tokenize "$TMP/empty" --text hi
grep -q "no tokenizer.json, nor vocab.json with merges.txt" "$TMP/err" || fail "empty dir: $(cat "$TMP/err")"
expect_status 2 "$KOP" tokenize "$TMP/nowhere" --text hi
grep -q "nowhere: cannot open" "$TMP/err" || fail "missing path: $(cat "$TMP/err")"

# Bad text and bad usage: status 2.
expect_status 2 "$KOP" tokenize "$TOK/gpt2" --text "$(printf 'ab\377c')"
grep -q "invalid UTF-8 at byte 2" "$TMP/err" || fail "bad UTF-8: $(cat "$TMP/err")"
expect_status 2 "$KOP" tokenize "$TOK/gpt2"
expect_status 2 "$KOP" tokenize "$TOK/gpt2" --text hi --bogus
expect_status 2 "$KOP" tokenize --text hi
exit 0
