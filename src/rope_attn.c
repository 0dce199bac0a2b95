/* rope_attn.c: rotary grouped-query attention (see rope_attn.h). */
#include "rope_attn.h"

#include <stddef.h>
#include <string.h>

size_t rope_attn_freq_floats(const Config *c)
{
    return (size_t)c->rope_dims / 2;
}

void rope_attn_print_scaling(const Config *c, FILE *f)
{
    if (c->rope_factor > 0)
        fprintf(f, "rope_scaling: llama3 factor %g low_freq_factor %g high_freq_factor %g original_max_position_embeddings %g\n",
                c->rope_factor, c->rope_low_freq, c->rope_high_freq, c->rope_orig_ctx);
    else
        fprintf(f, "rope_scaling: none\n");
}

void rope_attn_freqs(const Config *c, float *mem)
{
    kern_rope_freqs(mem, c->rope_dims, c->rope_theta, c->rope_factor, c->rope_low_freq, c->rope_high_freq,
                    c->rope_orig_ctx);
}

void rope_attn_derive(Model *m, float *mem)
{
    rope_attn_freqs(&m->cfg, mem);
}

int rope_attn_record_fields(const Config *c, RecField f[REC_MAX_FIELDS])
{
    /* one position's keys and values: 2 * NKV * HS floats */
    f[0] = (RecField){(size_t)2 * c->n_kv_head * c->head_dim, offsetof(LayerRec, kv)};
    return 1;
}

/* Rotate the queries and keys of one projected row, at position pos. */
static void rotate(const RopeAttn *a, float *row, int pos)
{
    kern_rope(row + a->q_off, a->NH, a->step, a->rot, a->inv_freq, pos);
    kern_rope(row + a->k_off, a->NKV, a->step, a->rot, a->inv_freq, pos);
}

void rope_attn_prompt(const RopeAttn *a, float *att, float *qkv, const Seqs *sq, const KernKnock *ko, float *kv,
                      const Scratch *s)
{
    int T = sq->start[sq->n], NH = a->NH, NKV = a->NKV, HS = a->HS, W = NH * HS, KW = NKV * HS;
    // q, k = apply_rotary_pos_emb(q, k, cos, sin)
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        int q = 0;
        while (sq->start[q + 1] <= t) q++;
        float *row = qkv + (size_t)t * a->ld;
        rotate(a, row, t - sq->start[q]);
        if (!kv) continue;
        float *rec = kv + (size_t)t * 2 * KW;
        for (int g = 0; g < NKV; g++) {
            memcpy(rec + (size_t)g * HS, row + a->k_off + (size_t)g * a->step, sizeof(float) * HS);
            memcpy(rec + KW + (size_t)g * HS, row + a->v_off + (size_t)g * a->step, sizeof(float) * HS);
        }
    }
    // attn = softmax(q k^T / sqrt(HS) + mask) v, per (prompt, query head)
    #pragma omp parallel for schedule(static)
    for (int job = 0; job < NH * sq->n; job++) {
        int q = job / NH, h = job % NH, g = h / (NH / NKV), Tq = sq->start[q + 1] - sq->start[q];
        const float *rows = qkv + (size_t)sq->start[q] * a->ld;
        const float *k = rows + a->k_off + (size_t)g * a->step, *v = rows + a->v_off + (size_t)g * a->step;
        kern_attention_head_win(att + (size_t)sq->start[q] * W + (size_t)h * HS, W,
                                rows + a->q_off + (size_t)h * a->step, a->ld, k, v, a->ld, NULL, NULL, 0, Tq, ko,
                                a->window, scratch_thread(s), 0, Tq, HS);
    }
}

void rope_attn_rows(const RopeAttn *a, float *att, float *qkv, const RowRun *runs, int nruns, const float *kv, int T,
                    const Scratch *s)
{
    int NH = a->NH, NKV = a->NKV, HS = a->HS, W = NH * HS, KW = NKV * HS;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < nruns; i++)
        for (int t = runs[i].t0; t < T; t++) rotate(a, qkv + (size_t)(runs[i].row0 + t - runs[i].t0) * a->ld, t);
    /* every (run, query head): rows t0..T-1 attend to the clean keys before
     * t0 and to the run's own recomputed keys from t0 on */
    #pragma omp parallel for schedule(static)
    for (int job = 0; job < nruns * NH; job++) {
        const RowRun *r = &runs[job / NH];
        int h = job % NH, g = h / (NH / NKV);
        KernKnock ko = {r->src, r->dst, NULL};
        const float *mine = qkv + (size_t)r->row0 * a->ld, *base = kv + (size_t)r->rec_row * 2 * KW;
        kern_attention_head_win(att + (size_t)r->row0 * W + (size_t)h * HS, W, mine + a->q_off + (size_t)h * a->step,
                                a->ld, base + (size_t)g * HS, base + KW + (size_t)g * HS, 2 * KW,
                                mine + a->k_off + (size_t)g * a->step, mine + a->v_off + (size_t)g * a->step, a->ld,
                                r->t0, r->knocked ? &ko : NULL, a->window, scratch_thread(s), r->t0, T, HS);
    }
}

double rope_attn_flops(const Config *c, int T)
{
    /* query i scores and sums over min(i + 1, window) keys */
    double pairs = 0;
    for (int i = 0; i < T; i++) pairs += c->sliding_window > 0 && c->sliding_window < i + 1 ? c->sliding_window : i + 1;
    return 2.0 * 2.0 * c->n_head * c->head_dim * pairs;
}
