/* ranks.h: the processes of an MPI run (`mpirun -n N kop run ...`).
 *
 * Built with ./configure --with-mpi and started by mpirun or srun, `kop run`
 * is one of N ranks: rank r measures the prompts of shard r of N (exec.h),
 * every rank sends what it measured to rank 0, and rank 0 alone writes the
 * results, byte-identical to a run in one process (run.c).  Started any
 * other way, or built without MPI, there is one rank and every call here
 * is trivial, so the rest of kop never asks whether MPI is there.
 *
 * Every collective call must be made by all ranks in the same order: the
 * callers keep the ranks in step, and agree (ranks_agree) after every step
 * that may fail on some ranks only, so that a failure stops them all
 * instead of leaving the others waiting. */
#ifndef KOP_RANKS_H
#define KOP_RANKS_H

#include <stddef.h>

#include "util.h"

/* Join the MPI job when kop was started by an MPI launcher (and built
 * with MPI); a no-op otherwise.  0, or a usage status after printing why
 * (several ranks launched but kop built without MPI). */
int ranks_start(void);
/* Only rank 0 speaks: on the others stdout and stderr go to /dev/null
 * (their errors reach rank 0 through ranks_agree; ranks_abort still
 * prints). */
void ranks_quiet(void);
/* Leave the MPI job (MPI_Finalize), if joined. */
void ranks_end(void);

int ranks_rank(void);                /* 0 .. ranks_size() - 1 */
int ranks_size(void);                /* 1 unless joined to an MPI job of several ranks */

/* Every rank's outcome of a step (0 or -1 with err).  0 when all ranks
 * succeeded; else -1 on every rank, err holding the lowest failing rank's
 * error (its message prefixed with its rank when that is not 0), so that
 * rank 0 reports it once. */
int ranks_agree(int status, KopError *err);

/* Rank 0's n bytes at buf, to every rank. */
void ranks_bcast(void *buf, size_t n);
/* Rank 0's text (malloc'd, n bytes) to every rank: on the others *text
 * and *n are replaced with a malloc'd copy. */
void ranks_bcast_text(char **text, size_t *n);
/* Every rank's n bytes, to rank 0, in rank order: a malloc'd buffer, and
 * each rank's length in lens (malloc'd, ranks_size() of them).  NULL on
 * the other ranks. */
char *ranks_gather(const char *buf, size_t n, size_t **lens);

/* A failure that leaves the ranks out of step: print it and end every
 * rank with status (MPI_Abort); exit(status) with one rank. */
void ranks_abort(int status, const char *fmt, ...) KOP_PRINTF(2, 3);

#endif
