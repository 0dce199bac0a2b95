/* rope_attn.h: the rotary self-attention Llama, Mistral and GPT-NeoX share.
 *
 * Each family projects a row to its queries, keys and values in one buffer,
 * laid out as it stores them (Llama: [q heads | k heads | v heads]; GPT-NeoX's
 * fused query_key_value: per head [q k v]).  RopeAttn says where query head
 * h and key/value head g sit in such a row; from there the step is the same
 * for all of them: rotate q and k at the row's position (kernels.h,
 * rotate-half), then softmax attention per query head over the keys of its
 * key/value head -- grouped-query attention: query head h reads kv head
 * h / (NH / NKV), as transformers' repeat_kv does -- with the knockout's edge
 * mask (applied to every query head) and Mistral's sliding window.
 *
 * Records for the executor (knock.h): a clean layer keeps every position's
 * rotated keys and values, (T, 2 * NKV * HS) [k heads | v heads], so a
 * recomputed row attends to the clean keys before its run's t0 as they were,
 * and to its run's own recomputed keys from t0 on. */
#ifndef KOP_ROPE_ATTN_H
#define KOP_ROPE_ATTN_H

#include <stdio.h>

#include "arch.h"

typedef struct RopeAttn {
    int NH, NKV, HS;          /* query heads, key/value heads, head size */
    int rot;                  /* leading dims of each head that rotate (even, <= HS) */
    int ld;                   /* floats per projected row */
    int q_off, k_off, v_off;  /* query head 0, kv head 0's key and value in a row */
    int step;                 /* from one head to the next, for q, k and v alike */
    int window;               /* sliding window (Mistral); 0 = every earlier key */
    const float *inv_freq;    /* (rot / 2) */
} RopeAttn;


/* The rotary frequencies every layer shares, derived once at load (the
 * families' ArchOps.derive): how many floats, and into mem. */
size_t rope_attn_freq_floats(const Config *c);
void rope_attn_freqs(const Config *c, float *mem);
/* ArchOps.derive of the rotary families: the frequencies into mem, which
 * model_derive keeps as Model.derived, where attn_layout reads them. */
void rope_attn_derive(Model *m, float *mem);
/* ArchOps.record_fields of the rotary families: each layer's keys and
 * values (LayerRec.kv). */
int rope_attn_record_fields(const Config *c, RecField f[REC_MAX_FIELDS]);
/* `kop info`'s rope_scaling line. */
void rope_attn_print_scaling(const Config *c, FILE *f);

/* A whole forward's step: qkv (T, ld) of the prompts sq, rotated in place
 * (position = row - its prompt's start); att (T, NH * HS) receives the heads
 * side by side; kv (T, record width) the records, or NULL.  ko (the one
 * prompt's knockout) may be NULL. */
void rope_attn_prompt(const RopeAttn *a, float *att, float *qkv, const Seqs *sq, const KernKnock *ko, float *kv,
                      const Scratch *s);

/* The executor's step: each run's rows of qkv (row0.., positions t0..T-1),
 * rotated in place, attend to kv (the clean records of the prompt) before t0
 * and to their own rows from t0 on; att (rows, NH * HS). */
void rope_attn_rows(const RopeAttn *a, float *att, float *qkv, const RowRun *runs, int nruns, const float *kv, int T,
                    const Scratch *s);

/* Multiply-adds x 2 of the score and value products over T positions. */
double rope_attn_flops(const Config *c, int T);

#endif
