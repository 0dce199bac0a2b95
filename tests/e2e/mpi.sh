#!/bin/sh
# mpi.sh: `mpirun -n 3 kop run` (a kop built with ./configure --with-mpi)
# writes the bytes of a run in one process -- rows.csv, summary.csv, the
# journal and the figures -- for a knockout flow, a token map and a causal
# trace, and for a pipeline; its manifest says `ranks: 3`; started again it
# has nothing to do; killed on the way, it resumes (in one process) to the
# same bytes; a failure on some ranks only stops them all with rank 0's one
# message.
# Skipped (77) when kop was built without MPI or mpirun is missing.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
M=$E/models/mamba1-facts
[ -f "$M/config.json" ] || skip "$M absent"
if ! "$KOP" --version | grep -q '^MPI: *yes'; then
    # built without MPI, one of several ranks refuses to run everything
    command -v mpirun >/dev/null || skip "kop built without MPI (./configure --with-mpi), and no mpirun"
    set +e
    mpirun --allow-run-as-root --oversubscribe -n 2 "$KOP" run "$E/flow.kop" --model "$M" --out "$TMP/x" >"$TMP/out" 2>"$TMP/err"
    st=$?
    set -e
    [ $st != 0 ] || fail "a kop built without MPI ran under mpirun -n 2"
    grep -q 'built without MPI' "$TMP/err" || fail "no MPI: $(cat "$TMP/err")"
    [ ! -e "$TMP/x/rows.csv" ] || fail "a kop built without MPI wrote rows under mpirun -n 2"
    skip "kop built without MPI (./configure --with-mpi); it refuses mpirun -n 2"
fi
command -v mpirun >/dev/null || skip "mpirun not found (Debian package: openmpi-bin)"

# every rank one thread: three ranks share the machine's cores.  A run
# that hangs fails the test instead of the suite.
T=
command -v timeout >/dev/null && T="timeout 600"
mpi() { OMP_NUM_THREADS=1 $T mpirun --allow-run-as-root --oversubscribe -n 3 "$@"; }

same() { # same DIR1 DIR2: the results and the journal identical
    for f in rows.csv summary.csv journal.txt $(cd "$1" && ls *.png 2>/dev/null); do
        cmp -s "$1/$f" "$2/$f" || fail "$2/$f differs from $1/$f"
    done
}

# the causal trace, trimmed to 6 facts (two groups of 4 list positions
# measured, a third rank with none) and 3 noisy runs each
sed -e "s|\"data/facts.json\"|\"$E/data/facts.json\"|" -e 's/^limit 10$/limit 6/' -e 's/samples 10/samples 3/' \
    "$E/trace.kop" >"$TMP/trace.kop"
grep -q '^limit 6$' "$TMP/trace.kop" || fail "examples/trace.kop changed: no 'limit 10' line to trim"

for R in "$E/flow.kop" "$E/tokens.kop" "$TMP/trace.kop"; do
    name=$(basename "$R" .kop)
    "$KOP" run "$R" --model "$M" --out "$TMP/$name-1" --quiet >/dev/null 2>"$TMP/log" ||
        { cat "$TMP/log" >&2; fail "$name: the run in one process"; }
    mpi "$KOP" run "$R" --model "$M" --out "$TMP/$name-3" >"$TMP/out" 2>"$TMP/log" ||
        { cat "$TMP/log" >&2; fail "$name: mpirun -n 3 kop run"; }
    same "$TMP/$name-1" "$TMP/$name-3"
    ls "$TMP/$name-1"/*.png >/dev/null 2>&1 || [ "$name" = trace ] || fail "$name: no figure to compare"
    grep -q '^ranks: 3$' "$TMP/$name-3/manifest.yaml" || fail "$name: the manifest does not say ranks: 3"
    grep -q '^status: complete$' "$TMP/$name-3/manifest.yaml" || fail "$name: the manifest does not say complete"
    [ "$(grep -c 'Results in' "$TMP/out")" = 1 ] || fail "$name: not one closing line (only rank 0 prints): $(cat "$TMP/out")"
done

# a pipeline: its model x recipe runs one after another, every rank in each
cat >"$TMP/p.yaml" <<Y
name: two
limit: 6
models:
  - {name: mamba1-facts, dir: $M, arch: mamba1}
  - {name: gpt2-facts, dir: $E/models/gpt2-facts, arch: gpt2}
recipes: [$E/flow.kop, $E/tokens.kop]
figures:
  - {recipe: flow-to-last, lines: flow-compare.png}
Y
if [ -f "$E/models/gpt2-facts/config.json" ]; then
    "$KOP" run "$TMP/p.yaml" --out "$TMP/p1" --quiet >/dev/null 2>"$TMP/log" || { cat "$TMP/log" >&2; fail "the pipeline"; }
    mpi "$KOP" run "$TMP/p.yaml" --out "$TMP/p3" --quiet >/dev/null 2>"$TMP/log" ||
        { cat "$TMP/log" >&2; fail "the pipeline under mpirun -n 3"; }
    files=$(cd "$TMP/p1" && find . -type f ! -name manifest.yaml ! -name pipeline.yaml ! -name .lock | sort)
    [ "$files" = "$(cd "$TMP/p3" && find . -type f ! -name manifest.yaml ! -name pipeline.yaml ! -name .lock | sort)" ] ||
        fail "the pipeline under mpirun wrote other files"
    echo "$files" | grep -q 'flow-compare.png' || fail "the pipeline drew no figure"
    for f in $files; do cmp -s "$TMP/p1/$f" "$TMP/p3/$f" || fail "pipeline: $f differs under mpirun"; done
    [ "$(grep -l '^ranks: 3$' "$TMP"/p3/*/*/manifest.yaml | wc -l)" = 4 ] || fail "pipeline: not every run says ranks: 3"
fi

# started again: nothing to do, whether under mpirun or not
mpi "$KOP" run "$E/flow.kop" --model "$M" --out "$TMP/flow-3" >"$TMP/out" 2>&1 || fail "flow: mpirun again"
grep -q 'nothing to do' "$TMP/out" || fail "flow: mpirun again did not say 'nothing to do': $(cat "$TMP/out")"
"$KOP" run "$E/flow.kop" --model "$M" --out "$TMP/flow-3" >"$TMP/out" || fail "flow: one process after mpirun"
grep -q 'nothing to do' "$TMP/out" || fail "flow: one process after mpirun has something to do"

# rank 0 killed after 9 prompts are on disk: the journal keeps two whole
# groups, and a run in one process finishes it to the same bytes
set +e
KOP_TEST_KILL=9 mpi "$KOP" run "$E/flow.kop" --model "$M" --out "$TMP/killed" --quiet >/dev/null 2>&1
st=$?
set -e
[ $st != 0 ] && [ $st != 124 ] || fail "mpirun with rank 0 killed exited $st"
grep -q '^status: running' "$TMP/killed/manifest.yaml" || fail "killed: the manifest does not say running"
"$KOP" run "$E/flow.kop" --model "$M" --out "$TMP/killed" >"$TMP/out" || fail "resuming what mpirun left"
grep -q 'resumed after 8 prompts' "$TMP/out" || fail "killed after 9: $(cat "$TMP/out")"
same "$TMP/flow-1" "$TMP/killed"

# errors: one message, from rank 0, and every rank stops
printf 'experiment "bad"\nprompt "The Eiffel Tower is in" subject "Eiffel Tower"\nblock subjekt -> last in layer 1\n' >"$TMP/bad.kop"
set +e
mpi "$KOP" run "$TMP/bad.kop" --model "$M" --out "$TMP/bad" >"$TMP/out" 2>"$TMP/err"
st=$?
set -e
[ $st = 1 ] || { cat "$TMP/err" >&2; fail "a recipe error under mpirun exited $st, expected 1"; }
[ "$(grep -c 'bad.kop:3:7: error' "$TMP/err")" = 1 ] || fail "a recipe error not reported once: $(cat "$TMP/err")"
# ranks 1 and 2 on a model folder that is not there: rank 0 says so
set +e
OMP_NUM_THREADS=1 $T mpirun --allow-run-as-root --oversubscribe -n 1 "$KOP" run "$E/flow.kop" --model "$M" --out "$TMP/part" : \
    -n 2 "$KOP" run "$E/flow.kop" --model "$TMP/nowhere" --out "$TMP/part" >"$TMP/out" 2>"$TMP/err"
st=$?
set -e
[ $st != 0 ] && [ $st != 124 ] || fail "a model missing on ranks 1 and 2 exited $st"
grep -q "rank 1 of 3: .*nowhere" "$TMP/err" || fail "a model missing on some ranks: $(cat "$TMP/err")"
[ ! -e "$TMP/part/rows.csv" ] || fail "a model missing on some ranks: rank 0 went on"
# shards are for separate jobs
set +e
mpi "$KOP" run "$E/flow.kop" --model "$M" --shard 0/2 --out "$TMP/shard" >"$TMP/out" 2>"$TMP/err"
st=$?
set -e
[ $st = 2 ] || fail "--shard under mpirun exited $st, expected 2"
grep -q 'do not combine' "$TMP/err" || fail "--shard under mpirun: $(cat "$TMP/err")"
exit 0
