# tests/fuzz/seeds.sh: sourced by check.sh and campaign.sh.  seeds FORMAT
# prints the seed files of FORMAT (one a line) from the source tree, the
# shared reference models (when present) and files made in $SEEDS; $TOK is
# the tokenizer the prompts format uses.
: "${KOP_SRCDIR:?}" "${SEEDS:?}"
TOK=$KOP_SRCDIR/examples/models/mamba1-facts/tokenizer.json
mkdir -p "$SEEDS"
ref=${KOP_SHARED:-}/reference
cat > "$SEEDS/p.yaml" <<Y
name: fuzz
output: out
limit: 2
models:
  - {name: m1, dir: $ref/mamba1-tiny, arch: mamba1, layers: 2}
  - name: g
    dir: $ref/gpt2-tiny
    tokenizer: tok.json
recipes:
  - r.kop
  - {file: r2.kop, archs: [mamba1, gpt2]}
figures:
  - {recipe: r, statement: "block subject -> last in layers[k..k]", models: [m1], lines: a/b.png, heatmap: h.png, title: "T \${X:-y}"}
Y
cat > "$SEEDS/summary.csv" <<C
experiment,model,statement,k,t,n,mean,stderr,ci95,metric
flow,m,block subject -> last in layers[k..k],0,,10,-0.25,0.05,0.11,prob_change
flow,m,block subject -> last in layers[k..k],1,,10,-0.5,0.04,0.09,prob_change
flow,m,"block ""a,b"" -> last",1,,3,0.1,,,prob_change
flow,g,block subject -> last in layers[k..k],0,,5,0.01,0.001,0.002,prob_change
flow,g,block subject -> last in layers[k..k],1,,5,0.02,0.001,0.002,prob_change
flow,g,block all -> last in layers[k..k],1,,5,0.03,,,prob_change
C
cat > "$SEEDS/summary-t.csv" <<C
experiment,model,statement,k,t,n,mean,stderr,ci95,metric
tok,m,block tokens[t] -> last in layer 1,,0,5,0.01,0.001,0.002,kl
tok,m,block tokens[t] -> last in layer 1,,1,5,0.02,0.001,0.002,kl
tok,m,block all -> last in layer 1,,,5,0.03,,,kl
C
printf '{"prompt": "Mas Zoukrei speaks", "subject": "Mas Zoukrei", "target": " Ambrese"}\n{"ids": [1, 2, 3], "subject": [0, 1], "target_id": 4}\n' > "$SEEDS/lines.jsonl"
seeds() {
    case $1 in
    recipe) ls "$KOP_SRCDIR"/examples/*.kop "$KOP_SRCDIR"/pipelines/paper/*.kop ;;
    pipeline) echo "$SEEDS/p.yaml"; ls "$KOP_SRCDIR"/pipelines/*.yaml ;;
    safetensors | config)
        f=model.safetensors; [ "$1" = config ] && f=config.json
        for m in mamba1-tiny mamba2-tiny gpt2-tiny falcon-mamba-tiny; do
            [ -f "$ref/$m/$f" ] && echo "$ref/$m/$f"
        done
        [ "$1" = config ] && ls "$KOP_SRCDIR"/examples/models/*/config.json
        return 0 ;;
    tokenizer | vocab) echo "$TOK" ;;
    prompts) ls "$KOP_SRCDIR"/examples/data/facts.json "$KOP_SRCDIR"/examples/data/facts-ids.jsonl "$SEEDS/lines.jsonl" ;;
    summary) echo "$SEEDS/summary.csv"; echo "$SEEDS/summary-t.csv" ;;
    esac
}
FORMATS="recipe pipeline safetensors config tokenizer vocab prompts summary"
