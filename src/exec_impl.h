/* exec_impl.h: what the executor's two halves share (internal): the run's
 * context and the steps every prompt goes through, whether its runs are
 * knockouts (exec.c) or causal traces (exec_trace.c). */
#ifndef KOP_EXEC_IMPL_H
#define KOP_EXEC_IMPL_H

#include "exec.h"

typedef struct TracePre TracePre; /* exec_trace.c */

typedef struct RunCtx {
    const Recipe *r;
    const Model *m;
    const Tokenizer *tok;
    const PromptList *ps;
    const unsigned char *keep;  /* ExecOptions.keep */
    int n_keep;
    unsigned char **feat;  /* per block: (n_layer, n_features) or NULL for all */
    int naive;
    long max_tokens;       /* ExecOptions.max_tokens */
    int want_flops;        /* ExecOptions.want_flops (they cost a second planning of the runs) */
    TracePre *trace;       /* a trace's prompts read ahead (exec_trace.c), or NULL */
} RunCtx;

int execp_argmax(const float *x, int n);
/* The metric of one run from its logits: p, pk the target's probability
 * before (the base run) and after; lz, lzk logsumexp of the clean and the
 * run's logits; pclean (V): the clean probabilities, for kl only. */
double execp_metric(Metric metric, const float *clean, const float *after, int V, int target, double p, double pk,
                    double lz, double lzk, const double *pclean);
/* j is skipped: reason = fmt with detail. */
void execp_skip(PromptResult *j, const char *fmt, const char *detail);
/* Tokenize prompt pi into j: the number of tokens, or -1 when it is skipped. */
int execp_prepare(const RunCtx *cx, int pi, PromptResult *j, int **ids, int *sf, int *sl);
/* From the clean logits (V): what clean.csv says of the prompt, `keep ids`,
 * a pipeline's kept set, the target, `keep correct` and p_clean (and
 * p_base = p_clean) into j; 0, or -1 when the prompt is skipped. */
int execp_target(const RunCtx *cx, int pi, const float *clean, PromptResult *j);
/* The decoded texts of prompt pi's tokens (*T of them), for the labels of
 * token maps; NULL if it no longer tokenizes. */
char **execp_token_texts(const RunCtx *cx, int pi, int *T);

/* ---- tracing (exec_trace.c) */
/* Read every prompt ahead: their tokens, the `F std` noise level over all of
 * them and what swap partners need.  NULL + err on failure. */
TracePre *exec_trace_pre(const RunCtx *cx, KopError *err);
void exec_trace_pre_free(TracePre *t);
/* The group [first, first + cnt) of a trace, prompt by prompt, into jobs. */
void exec_trace_group(const RunCtx *cx, int first, int cnt, PromptResult *jobs, int mine);
/* Token labels for the rows of a t sweep: the role names with `aggregate t
 * by role`, else prompt pi's tokens, the subject's marked with '*'. */
char **exec_trace_labels(const RunCtx *cx, int pi, int *n);

#endif
