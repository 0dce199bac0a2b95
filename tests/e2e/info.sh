#!/bin/sh
# kop info: the reference models' key: value lines, usage errors (2)
# and bad models (1, with "kop: error: FILE: what").
. "$KOP_SRCDIR/tests/setup.sh"

# field KEY: the value printed for KEY in $TMP/out.
field() { sed -n "s/^$1: //p" "$TMP/out"; }
check() { got=$(field "$1"); [ "$got" = "$2" ] || fail "$what: $1 is '$got', expected '$2'"; }

# Usage errors need no model.
expect_status 2 "$KOP" info
grep -q "expected one model directory" "$TMP/err" || fail "no usage message"
expect_status 2 "$KOP" info a b
expect_status 2 "$KOP" info --frobnicate
expect_status 0 "$KOP" info --help
grep -q "^Usage: kop info DIR" "$TMP/out" || fail "no help text"

# Bad models exit 1 with the file named.
expect_status 1 "$KOP" info "$TMP/nowhere"
grep -q "^kop: error: $TMP/nowhere: no such model directory" "$TMP/err" || fail "missing dir: $(cat "$TMP/err")"
mkdir "$TMP/empty"
expect_status 1 "$KOP" info "$TMP/empty"
grep -q "^kop: error: $TMP/empty/config.json: no such file" "$TMP/err" || fail "no config: $(cat "$TMP/err")"

need_shared reference/mamba1-tiny
need_shared reference/falcon-mamba-tiny
need_shared reference/mamba2-tiny
need_shared reference/gpt2-tiny
ref=$SHARED/reference

what=mamba1
expect_status 0 "$KOP" info "$ref/mamba1-tiny"
check arch mamba1; check d_model 32; check n_layer 3; check vocab_size 64
check d_inner 64; check d_state 8; check d_conv 4; check dt_rank 4
check lm_head tied; check params 28096; check dtype F32
[ -z "$(field n_heads)" ] || fail "mamba1 prints n_heads"
[ -z "$(field mixer_rms_eps)" ] || fail "mamba1 prints mixer_rms_eps"

what=falcon_mamba
expect_status 0 "$KOP" info "$ref/falcon-mamba-tiny"
check arch falcon_mamba; check d_model 32; check n_layer 3; check vocab_size 64
check d_inner 64; check d_state 8; check d_conv 4; check dt_rank 4; check mixer_rms_eps 1e-06
check lm_head separate; check params 30144; check dtype F32
# an option kop does not implement: exit 1, the file and the key named
mkdir "$TMP/gelu"
sed 's/"hidden_act": "silu"/"hidden_act": "gelu"/' "$ref/falcon-mamba-tiny/config.json" > "$TMP/gelu/config.json"
ln -s "$ref/falcon-mamba-tiny/model.safetensors" "$TMP/gelu/model.safetensors"
expect_status 1 "$KOP" info "$TMP/gelu"
grep -q "^kop: error: $TMP/gelu/config.json: hidden_act 'gelu' is not supported" "$TMP/err" || fail "gelu: $(cat "$TMP/err")"

what=mamba2
expect_status 0 "$KOP" info "$ref/mamba2-tiny"
check arch mamba2; check d_model 32; check n_layer 3; check vocab_size 64
check d_inner 64; check d_state 16; check n_heads 8; check head_dim 8; check n_groups 1
check chunk_size 8; check dt_limit "0 inf"
check lm_head separate; check params 28200; check dtype F32

what=gpt2
expect_status 0 "$KOP" info "$ref/gpt2-tiny"
check arch gpt2; check d_model 32; check n_layer 3; check vocab_size 64
check n_head 4; check head_dim 8; check n_ctx 64; check n_inner 128
check lm_head tied; check params 42272; check dtype F32

need_shared reference/llama-tiny
need_shared reference/pythia-tiny

what=llama
expect_status 0 "$KOP" info "$ref/llama-tiny"
check arch llama; check d_model 32; check n_layer 3; check vocab_size 64
check n_head 4; check n_kv_head 2; check head_dim 8; check intermediate_size 48
check rope_theta 10000; check rope_scaling none; check attention_bias false; check mlp_bias false
check lm_head tied; check params 25312; check dtype F32
[ -z "$(field sliding_window)" ] || fail "llama prints sliding_window"

what=pythia
expect_status 0 "$KOP" info "$ref/pythia-tiny"
check arch gpt_neox; check d_model 32; check n_layer 3; check vocab_size 64
check n_head 4; check head_dim 8; check intermediate_size 128; check rotary_dims 2
check parallel_residual true; check attention_bias true
check lm_head separate; check params 42272; check dtype F32

# Mistral: the llama-tiny weights under a Mistral config with a window and
# llama3 rope scaling.
mkdir "$TMP/mistral"
sed -e 's/"llama"/"mistral"/' -e 's/"rope_theta": 10000.0,/"rope_theta": 500000.0, "sliding_window": 4, "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},/' \
    "$ref/llama-tiny/config.json" > "$TMP/mistral/config.json"
ln -s "$ref/llama-tiny/model.safetensors" "$TMP/mistral/model.safetensors"
what=mistral
expect_status 0 "$KOP" info "$TMP/mistral"
check arch mistral; check n_kv_head 2; check sliding_window 4; check rope_theta 500000
check rope_scaling "llama3 factor 32 low_freq_factor 1 high_freq_factor 4 original_max_position_embeddings 8192"

# Another rope scaling: exit 1, named.
sed 's/"rope_theta": 10000.0,/"rope_scaling": {"type": "dynamic", "factor": 2.0},/' "$ref/llama-tiny/config.json" \
    > "$TMP/mistral/config.json"
expect_status 1 "$KOP" info "$TMP/mistral"
grep -q "config.json: rope_scaling type 'dynamic' is not supported" "$TMP/err" || fail "dynamic rope: $(cat "$TMP/err")"

# mamba_ssm releases: pytorch_model.bin, the vocabulary padded to a multiple
# of pad_vocab_size_multiple (60 -> 64), the tied head sharing the embedding's
# storage (so counted once).
need_shared reference/mamba1-ssm-tiny
need_shared reference/mamba2-ssm-tiny
what=mamba1-ssm
expect_status 0 "$KOP" info "$ref/mamba1-ssm-tiny"
check arch mamba1; check vocab_size 64; check vocab_padding 4; check dt_rank 2
check lm_head tied; check dtype F32
what=mamba2-ssm
expect_status 0 "$KOP" info "$ref/mamba2-ssm-tiny"
check arch mamba2; check vocab_size 64; check vocab_padding 4; check n_heads 8; check head_dim 8
check chunk_size 8; check lm_head tied; check dtype F32
what=mamba1
expect_status 0 "$KOP" info "$ref/mamba1-tiny"
check vocab_padding 0

# A pytorch_model.bin beside a model.safetensors: the safetensors file is read
# (as transformers does), so a damaged .bin goes unnoticed.
mkdir "$TMP/both"
cp "$ref/mamba1-tiny/config.json" "$ref/mamba1-tiny/model.safetensors" "$TMP/both/"
printf 'not a zip' > "$TMP/both/pytorch_model.bin"
expect_status 0 "$KOP" info "$TMP/both"
# Without the safetensors file the .bin is read, and its damage reported.
rm "$TMP/both/model.safetensors"
expect_status 1 "$KOP" info "$TMP/both"
grep -q "^kop: error: $TMP/both/pytorch_model.bin: not a zip archive" "$TMP/err" || fail "bad .bin: $(cat "$TMP/err")"

# A pytorch_model.bin cut short: exit 1, the file named.
mkdir "$TMP/cutbin"
cp "$ref/mamba1-ssm-tiny/config.json" "$TMP/cutbin/"
head -c 100000 "$ref/mamba1-ssm-tiny/pytorch_model.bin" > "$TMP/cutbin/pytorch_model.bin"
expect_status 1 "$KOP" info "$TMP/cutbin"
grep -q "^kop: error: $TMP/cutbin/pytorch_model.bin: no end of central directory record" "$TMP/err" \
    || fail "truncated .bin: $(cat "$TMP/err")"

# A copy of a reference model, truncated: exit 1, the file named.
mkdir "$TMP/cut"
cp "$ref/mamba1-tiny/config.json" "$TMP/cut/"
head -c 5000 "$ref/mamba1-tiny/model.safetensors" > "$TMP/cut/model.safetensors"
expect_status 1 "$KOP" info "$TMP/cut"
grep -q "^kop: error: $TMP/cut/model.safetensors: tensor '.*': data_offsets .* run past the data section" "$TMP/err" \
    || fail "truncated: $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] || fail "a failed info printed to stdout"

# A config that does not match the weights.
mkdir "$TMP/mismatch"
sed 's/"state_size": 8/"state_size": 4/' "$ref/mamba1-tiny/config.json" > "$TMP/mismatch/config.json"
ln -s "$ref/mamba1-tiny/model.safetensors" "$TMP/mismatch/model.safetensors"
expect_status 1 "$KOP" info "$TMP/mismatch"
grep -q "x_proj.weight' has shape \[20, 64\] but config.json implies \[12, 64\]" "$TMP/err" \
    || fail "mismatch: $(cat "$TMP/err")"
exit 0
