#!/bin/sh
# bench/checkpoint: the model directories it writes load in kop like real
# ones (config, dims, parameter count, dtype, shards with their index), run
# the paper sweep with inline ids and no tokenizer, and give finite logits
# that do not depend on how the weights are split into shards; its usage
# errors.  bench/scale's table on one of them.  Tiny shapes: a second or two.
. "$KOP_SRCDIR/tests/setup.sh"
CK="$KOP_BUILDDIR/bench/checkpoint"
[ -x "$CK" ] || skip "$CK not built"

field() { sed -n "s/^$1: //p" "$TMP/out"; }
check() { got=$(field "$1"); [ "$got" = "$2" ] || fail "$what: $1 is '$got', expected '$2'"; }

# Usage errors (2) and a directory that holds something already (1).
expect_status 2 "$CK"
expect_status 2 "$CK" mamba-tiny
expect_status 2 "$CK" no-such-shape "$TMP/x"
grep -q "unknown shape 'no-such-shape'" "$TMP/err" || fail "unknown shape: $(cat "$TMP/err")"
expect_status 2 "$CK" mamba-tiny "$TMP/x" --dtype f64
expect_status 2 "$CK" mamba-tiny "$TMP/x" --shard-size 5XB
mkdir "$TMP/full" && touch "$TMP/full/junk"
expect_status 1 "$CK" mamba-tiny "$TMP/full"
grep -q "$TMP/full is not empty (it holds junk)" "$TMP/err" || fail "non-empty dir: $(cat "$TMP/err")"

# The parameter counts, from the architectures' definitions (V vocab, C
# width, L layers, N state, R dt rank, D inner width, H heads, G groups).
# Mamba-1 layer: norm C, in_proj 2D*C, conv D*4 + D, x_proj (R+2N)*D,
# dt_proj D*R + D, A_log D*N, D D, out_proj C*D.
V=512 C=64 L=3 D=128
N=8 R=4
mamba1=$((V * C + C + L * (C + 2 * D * C + 5 * D + (R + 2 * N) * D + D * R + D + D * N + D + C * D)))
falcon=$((mamba1 + V * C))
# Mamba-2 layer (H 4 heads of 32, N 16, G 1): in_proj (2D + 2GN + H)*C,
# conv (D + 2GN)*5, dt_bias + A_log + D 3H, gated norm D, out_proj C*D.
H=4 N2=16
mamba2=$((V * C + C + L * (C + (2 * D + 2 * N2 + H) * C + (D + 2 * N2) * 5 + 3 * H + D + C * D)))
# GPT-2 (context 64): wte, wpe, per layer 2 LayerNorms, c_attn, c_proj, MLP 4C.
gpt2=$((V * C + 64 * C + L * (4 * C + 3 * C * C + 3 * C + C * C + C + 4 * C * C + 4 * C + 4 * C * C + C) + 2 * C))

cat > "$TMP/sweep.kop" <<'EOF'
prompt ids [5, 17, 300, 42, 9, 77, 101, 3, 250, 8] subject [2..4]
prompt ids [15, 7, 30, 412, 91, 7, 11, 13, 25, 88] subject [1..3]
block subject -> last in layers[k-4..k+4]
block relation -> last in layers[k-4..k+4]
block last -> last in layers[k-4..k+4]
block first -> last in layers[k-4..k+4]
EOF
for case in mamba-tiny:f32:mamba1:$mamba1:tied falcon-mamba-tiny:bf16:falcon_mamba:$falcon:separate \
            mamba2-tiny:f16:mamba2:$mamba2:tied gpt2-tiny:bf16:gpt2:$gpt2:tied; do
    IFS=: read -r shape dtype arch params head <<EOF
$case
EOF
    what="$shape $dtype"
    dir="$TMP/$shape-$dtype"
    # 100KB shards: the embedding alone is 64-128 KB, so every shape is split
    expect_status 0 "$CK" "$shape" "$dir" --dtype "$dtype" --shard-size 100KB
    [ -f "$dir/model.safetensors.index.json" ] || fail "$what: no shard index"
    n=$(ls "$dir" | grep -c '^model-.*-of-.*\.safetensors$')
    [ "$n" -ge 2 ] || fail "$what: $n shards"
    [ ! -e "$dir/tokenizer.json" ] || fail "$what: a tokenizer was written"
    expect_status 0 "$KOP" info "$dir"
    check arch "$arch"; check n_layer 3; check vocab_size 512; check params "$params"; check lm_head "$head"
    check dtype "$(echo "$dtype" | tr a-z A-Z)"
    expect_status 0 "$KOP" run "$TMP/sweep.kop" --model "$dir" --out "$TMP/out-$shape" --quiet --threads 1
    rows=$(($(wc -l < "$TMP/out-$shape/rows.csv") - 1))
    [ "$rows" = $((2 * 4 * 3)) ] || fail "$what: $rows rows, expected 2 prompts x 4 statements x 3 layers"
    ! grep -qi 'nan\|inf' "$TMP/out-$shape/rows.csv" || fail "$what: a non-finite value in rows.csv"
done

# One file or shards: the same weights, so the same logits to the last bit.
expect_status 0 "$CK" mamba-tiny "$TMP/one" --dtype bf16
[ -f "$TMP/one/model.safetensors" ] && [ ! -e "$TMP/one/model.safetensors.index.json" ] || fail "not one file"
"$KOP" logits "$TMP/one" --ids=1,2,3,4 > "$TMP/one.txt"
"$KOP" logits "$TMP/mamba-tiny-f32" --ids=1,2,3,4 > "$TMP/f32.txt"
expect_status 0 "$CK" mamba-tiny "$TMP/split" --dtype bf16 --shard-size 30000
"$KOP" logits "$TMP/split" --ids=1,2,3,4 > "$TMP/split.txt"
cmp -s "$TMP/one.txt" "$TMP/split.txt" || fail "sharding changed the logits"
! grep -qi 'nan\|inf' "$TMP/one.txt" || fail "non-finite logits"
# BF16 is F32 rounded: logits close to the F32 file's, not equal.
awk 'NR == FNR { for (i = 1; i <= NF; i++) a[i] = $i; next }
     { for (i = 1; i <= NF; i++) { d = $i - a[i]; if (d < 0) d = -d; if (d > m) m = d; if ($i != a[i]) ne++ } }
     END { exit !(m < 1e-2 && ne > 0) }' "$TMP/f32.txt" "$TMP/one.txt" || fail "BF16 logits not near the F32 ones"

# bench/scale: one row per thread count, the dtype the model reports.
SCALE="$KOP_BUILDDIR/bench/scale"
[ -x "$SCALE" ] || exit 0
expect_status 0 "$SCALE" --kop "$KOP" --threads 1 --prompts 2 --tokens 8 "$TMP/mamba-tiny-f32"
grep -q '^| mamba-tiny-f32 | F32 | 1 | [0-9.]* | [0-9.]* | [0-9]* % | ' "$TMP/out" || fail "bench/scale: $(cat "$TMP/out")"
expect_status 2 "$SCALE" --threads
expect_status 2 "$SCALE" --kop "$KOP" --threads 1 "$TMP/nowhere"
grep -q "nowhere: no config.json" "$TMP/err" || fail "bench/scale on no model: $(cat "$TMP/err")"
