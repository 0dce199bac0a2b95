#!/bin/sh
# pipeline-romba.sh: pipelines/romba.yaml (Sharma et al.'s causal tracing
# figure set) checks without its models or prompts, every recipe compiled for
# every model it goes with; without its archs filters, every Mamba hook on a
# transformer and every transformer hook on Mamba is an error naming the
# model.  And a pipeline's comparison heatmap of role-averaged traces labels
# its rows with the roles: it is the figure `kop render --labels` draws from
# the joined summary with the role names (on the reference checkpoints).
. "$KOP_SRCDIR/tests/setup.sh"

P=$KOP_SRCDIR/pipelines/romba.yaml
env -u MODELS -u KNOWN_1000 -u LIMIT "$KOP" check "$P" >"$TMP/out.txt" 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "kop check $P"; }
head -1 "$TMP/out.txt" | grep -q "^pipeline romba: 6 models x 5 recipes = 18 runs, 18 figures\$" ||
    fail "romba pipeline summary: $(head -1 "$TMP/out.txt")"
for m in mamba-130m mamba-1.4b mamba-2.8b; do
    grep -q "^  $m .*: 3 recipes, not romba-trace-attn romba-blocking-attn\$" "$TMP/out.txt" ||
        fail "$m should skip the attention models' recipes: $(cat "$TMP/out.txt")"
done
for m in gpt2-medium gpt2-xl pythia-2.8b-deduped; do
    grep -q "^  $m .*: 3 recipes, not romba-trace romba-blocking\$" "$TMP/out.txt" ||
        fail "$m should skip the Mamba recipes: $(cat "$TMP/out.txt")"
done

# without the archs filters: 4 family-specific recipes x the 3 models of the other family
cp -R "$KOP_SRCDIR/pipelines/romba" "$TMP/romba"
sed 's/{file: \(romba\/[a-z-]*\.kop\), *archs: \[[^]]*\]}/\1/' "$P" >"$TMP/noarchs.yaml"
! grep -q 'archs:' "$TMP/noarchs.yaml" || fail "the archs filters were not removed"
env -u MODELS -u KNOWN_1000 -u LIMIT "$KOP" check "$TMP/noarchs.yaml" >/dev/null 2>"$TMP/err" &&
    fail "kop check accepted Mamba hooks on transformers"
[ "$(grep -c "error: this recipe does not compile for model '" "$TMP/err")" = 12 ] ||
    fail "expected 12 recipe x model errors: $(cat "$TMP/err")"
grep -q "romba/blocking-mamba.kop:14:49: error: 'ssm' is not a hook of pythia-2.8b-deduped (gpt_neox)" "$TMP/err" ||
    fail "the frozen ssm on Pythia should be reported at its place, naming the model: $(cat "$TMP/err")"
grep -q "romba/trace-attn.kop:11:9: error: 'attn' is not a hook of mamba-2.8b (mamba1)" "$TMP/err" ||
    fail "attn on Mamba should be reported at its place, naming the model: $(cat "$TMP/err")"

# --- a comparison heatmap of role-averaged traces: rows labelled by role ----------------
need_shared reference
cat >"$TMP/roles.kop" <<'EOF'
experiment "roles"
prompt ids [3, 17, 42, 5, 9, 11, 8] subject [1..3]
prompt ids [7, 8, 9, 10, 11] subject [2]
corrupt subject with noise 0.5 samples 2
restore resid at tokens[t] in layer k
aggregate t by role
EOF
cat >"$TMP/roles.yaml" <<'EOF'
models:
  - {name: m1, dir: "${REF}/mamba1-tiny"}
  - {name: g,  dir: "${REF}/gpt2-tiny"}
recipes:
  - roles.kop
figures:
  - {recipe: roles, heatmap: roles.png}
EOF
"$KOP" run "$TMP/roles.yaml" --set REF="$SHARED/reference" --out "$TMP/res" --quiet >/dev/null 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "kop run roles.yaml"; }
printf '%s\n' context subject.first subject.middle subject.last after.first after last >"$TMP/roles.txt"
"$KOP" render "$TMP/res/roles/summary.csv" --labels="$TMP/roles.txt" --heatmap="$TMP/by-role.png" >/dev/null
"$KOP" render "$TMP/res/roles/summary.csv" --heatmap="$TMP/by-t.png" >/dev/null
cmp -s "$TMP/res/roles.png" "$TMP/by-role.png" || fail "the comparison heatmap's rows are not labelled by role"
! cmp -s "$TMP/by-role.png" "$TMP/by-t.png" || fail "role and t labels draw the same figure: the test shows nothing"
exit 0
