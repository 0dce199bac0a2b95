/* trace_swap.c: see trace_swap.h. */
#include "trace_swap.h"

#include <string.h>

SwapPrompt trace_swap_prompt(const Prompt *p, const int *ids, int n, int first, int last)
{
    SwapPrompt s = {.relation = p->relation, .ids = ids, .n = n, .subj_first = first, .subj_last = last};
    if (!p->ids) {
        s.text = p->text;
        s.text_len = p->text_len;
        s.subject = p->subject;
    }
    return s;
}

int trace_tokenizer_encode(const void *ctx, const char *text, size_t len, int **ids, TokSpan **offsets,
                           KopError *err)
{
    return tokenizer_encode(ctx, text, len, ids, offsets, err);
}

static int subj_len(const SwapPrompt *s) { return s->subj_last - s->subj_first + 1; }

static int same_subject(const SwapPrompt *p, const SwapPrompt *q)
{
    if (p->text) return !strcmp(p->subject, q->subject);
    return subj_len(p) == subj_len(q) &&
           !memcmp(p->ids + p->subj_first, q->ids + q->subj_first, sizeof *p->ids * (size_t)subj_len(p));
}

/* First occurrence of needle in hay, or NULL. */
static const char *find_bytes(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || nn > hn) return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, nn)) return hay + i;
    return NULL;
}

/* Text prompt p with q's subject: 1 and *out (p->n ids) when it fits, 0 when
 * it does not, -1 and err when encoding fails. */
static int substitute_text(const SwapPrompt *p, const SwapPrompt *q, TraceEncodeFn encode, const void *ctx,
                           int **out, KopError *err)
{
    size_t sn = strlen(p->subject), qn = strlen(q->subject);
    const char *at = find_bytes(p->text, p->text_len, p->subject, sn);
    if (!at) return 0;
    size_t a = (size_t)(at - p->text), tail = p->text_len - a - sn, len = a + qn + tail;
    char *text = kop_xmalloc(len + 1);
    memcpy(text, p->text, a);
    memcpy(text + a, q->subject, qn);
    memcpy(text + a + qn, at + sn, tail);
    text[len] = '\0';
    int *ids = NULL;
    TokSpan *offs = NULL;
    int n = encode(ctx, text, len, &ids, &offs, err);
    free(text);
    if (n < 0) return -1;
    int first = -1, last = -1;
    for (int i = 0; i < n; i++)
        if (tokspan_overlaps(offs[i], a, a + qn)) {
            if (first < 0) first = i;
            last = i;
        }
    free(offs);
    if (n != p->n || first != p->subj_first || last != p->subj_last) {
        free(ids);
        return 0;
    }
    *out = ids;
    return 1;
}

/* Ids prompt p with q's subject tokens (same count). */
static int *substitute_ids(const SwapPrompt *p, const SwapPrompt *q)
{
    int *ids = kop_xmalloc(sizeof *ids * (size_t)p->n);
    memcpy(ids, p->ids, sizeof *ids * (size_t)p->n);
    memcpy(ids + p->subj_first, q->ids + q->subj_first, sizeof *ids * (size_t)subj_len(p));
    return ids;
}

int trace_swap_partner(const SwapPrompt *prompts, int n_prompts, int p, TraceEncodeFn encode, const void *ctx,
                       int **corrupted, char *reason, size_t reason_size, KopError *err)
{
    const SwapPrompt *sp = &prompts[p];
    KOP_ASSERT(p >= 0 && p < n_prompts && sp->ids);
    KOP_ASSERT(!sp->text || encode);
    /* How far the candidates got, for the reason when none fits. */
    int n_usable = 0, n_other_subject = 0, n_related = 0;
    for (int j = 1; j < n_prompts; j++) {
        const SwapPrompt *q = &prompts[(p + j) % n_prompts];
        if (!q->ids || (sp->text && !q->text)) continue;
        n_usable++;
        if (same_subject(sp, q)) continue;
        n_other_subject++;
        if (sp->relation && q->relation && strcmp(sp->relation, q->relation)) continue;
        n_related++;
        if (!sp->text) {
            if (subj_len(q) != subj_len(sp)) continue;
            *corrupted = substitute_ids(sp, q);
            return (p + j) % n_prompts;
        }
        int rc = substitute_text(sp, q, encode, ctx, corrupted, err);
        if (rc < 0) return -2;
        if (rc) return (p + j) % n_prompts;
    }
    const char *kind = sp->text ? "text prompt" : "prompt";
    if (!n_usable)
        snprintf(reason, reason_size, "swap: no other %s to take a subject from", kind);
    else if (!n_other_subject)
        snprintf(reason, reason_size, "swap: every other %s has the same subject", kind);
    else if (!n_related)
        snprintf(reason, reason_size, "swap: no other %s of relation %s has a different subject", kind,
                 sp->relation);
    else
        snprintf(reason, reason_size, "swap: none of the %d subjects that could replace this one keeps the "
                 "prompt's length and subject positions", n_related);
    return -1;
}
