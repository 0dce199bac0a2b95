/* threads.h: how many threads kop computes with, set in one place.
 *
 * Two levels never nest: the executor either runs prompts in parallel (one
 * group per thread, BLIS single-threaded inside) or runs one prompt at a
 * time with the layers splitting their loops and BLIS using every thread.
 * threads_set() takes the count from the options (`kop run --threads`,
 * OMP_NUM_THREADS by default) once per run; threads_prompts() switches BLIS
 * between the two levels; threads_team() is the team a layer's parallel loop
 * gets where it is called, for sizing per-thread working memory.  Every
 * OpenMP and BLIS thread setting of kop is in threads.c. */
#ifndef KOP_THREADS_H
#define KOP_THREADS_H

/* n > 0: use n threads; 0: OpenMP's default.  Returns the count in force. */
int threads_set(int n);
/* on: prompts are about to run in parallel (BLIS on one thread); off: back
 * to one prompt at a time (BLIS on every thread). */
void threads_prompts(int on);
/* Threads a parallel loop started here gets: 1 inside a parallel region. */
int threads_team(void);

#endif
