/* fuzz_parse.c: libFuzzer entry point over the whole .kop front end: the
 * scanner, the parser and its error recovery, diagnostics rendering, the
 * semantic pass, the plan, the dumps and the per-prompt group evaluation.
 * Built and run by tests/fuzz/run.sh (clang, -fsanitize=fuzzer,address,
 * undefined); not part of make check.
 *
 * The first byte of an input picks the model (layer count 1..64 and the
 * architecture, or none); the rest is the recipe. */
#include <stdint.h>
#include <string.h>

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void)
{
    static FILE *f;
    if (!f) f = fopen("/dev/null", "w");
    return f;
}

/* Evaluate every item's groups on a few prompt shapes, as the executor would. */
static void run_groups(const Recipe *r)
{
    unsigned char mask[16];
    for (int i = 0; i < r->n_items && i < 64; i++)
        for (int n = 1; n <= 16; n += 5)
            for (int t = -1; t <= n; t += 3) {
                const Block *b = r->items[i].block;
                (void)plan_eval_group(b->src, n, 0, n / 2, t, mask);
                (void)plan_eval_group(b->dst, n, n - 1, n - 1, t, mask);
                int first, last, stride;
                (void)plan_t_range(r, n, &first, &last, &stride);
            }
    for (int i = 0; i < r->n_restore_items && i < 64; i++)
        for (int n = 1; n <= 16; n += 5)
            for (int t = -1; t <= n; t += 3) {
                const Restore *rs = r->restore_items[i].restore;
                (void)plan_eval_group(rs->restore.at, n, 0, n / 2, t, mask);
                if (rs->has_freeze) (void)plan_eval_group(rs->freeze.at, n, n - 1, n - 1, t, mask);
            }
    if (plan_is_trace(r)) (void)plan_eval_group(r->corrupt.group, 12, 2, 4, -1, mask);
    (void)plan_forward_passes(r, 1000, 12);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int layers = (data[0] & 63) ? data[0] & 63 : 0;
    Arch arch = (Arch)((data[0] >> 6) & 3); /* 0: unknown */
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    Diag *d = diag_new("fuzz.kop", text, len, sink());
    KopArena *ar = arena_new();
    Ast *stmts = kop_parse(text, len, d, ar);
    if (!diag_errors(d)) ast_dump(sink(), d, stmts);
    CheckOptions opt = {.path = "fuzz/fuzz.kop", .arch = arch, .model_name = arch == ARCH_GPT2 ? "gpt2-fuzz" : NULL};
    Recipe *r = kop_compile_ast(stmts, &opt, layers, d, ar);
    if (r) {
        plan_summary(sink(), r, opt.model_name);
        if (layers) {
            plan_dump(sink(), r);
            run_groups(r);
        }
    }
    arena_free(ar);
    diag_free(d);
    return 0;
}
