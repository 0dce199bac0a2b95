/* ranks.c: the processes of an MPI run (ranks.h); trivial without MPI. */
#include "config.h"
#include "ranks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_MPI
#include <mpi.h>
#endif

static int my_rank, n_ranks = 1;
#ifdef HAVE_MPI
static int joined;         /* MPI_Init'ed */
#endif
static FILE *loud;         /* stderr as it was before ranks_quiet */

/* The size of the job an MPI launcher started this process in, from the
 * environment it sets (Open MPI's mpirun; MPICH's and Slurm's PMI); 0 when
 * none did.  Open MPI under srun with PMIx sets only PMIX_RANK. */
static int launched_size(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v) v = getenv("PMI_SIZE");
    if (v) return atoi(v);
    return getenv("PMIX_RANK") ? 1 : 0;
}

int ranks_start(void)
{
    int size = launched_size();
#ifdef HAVE_MPI
    if (size == 0 || joined) return 0;
    int provided;
    /* only the main thread calls MPI, outside OpenMP's parallel regions */
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    joined = 1;
    return 0;
#else
    if (size <= 1) return 0;
    fprintf(stderr, "kop: started as one of %d MPI ranks, but this kop was built without MPI, so each would run "
            "everything (./configure --with-mpi builds it with MPI; kop --version says which)\n", size);
    return KOP_EXIT_USAGE;
#endif
}

void ranks_quiet(void)
{
    if (my_rank == 0 || loud) return;
    int fd = dup(STDERR_FILENO);
    loud = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
        ranks_abort(KOP_EXIT_INTERNAL, "/dev/null: cannot open to quiet rank %d", my_rank);
}

void ranks_end(void)
{
#ifdef HAVE_MPI
    if (joined) MPI_Finalize();
    joined = 0;
#endif
}

int ranks_rank(void) { return my_rank; }
int ranks_size(void) { return n_ranks; }

int ranks_agree(int status, KopError *err)
{
    if (n_ranks == 1) return status < 0 ? -1 : 0;
#ifdef HAVE_MPI
    int mine = status < 0 ? my_rank : n_ranks, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == n_ranks) return 0;
    if (first == my_rank && first != 0) {
        char msg[sizeof err->msg + 64];
        snprintf(msg, sizeof msg, "rank %d of %d: %s", my_rank, n_ranks, err->msg);
        memcpy(err->msg, msg, sizeof err->msg - 1); /* cut at the end, as kop_fail does */
        err->msg[sizeof err->msg - 1] = '\0';
    }
    MPI_Bcast(err, (int)sizeof *err, MPI_BYTE, first, MPI_COMM_WORLD);
    return -1;
#else
    return status < 0 ? -1 : 0;
#endif
}

#ifdef HAVE_MPI
/* MPI counts are ints: larger messages would leave the ranks out of step. */
static int count_of(size_t n)
{
    if (n > 0x7fffffff) ranks_abort(KOP_EXIT_INTERNAL, "a message of %zu bytes between ranks is too large for MPI", n);
    return (int)n;
}

#endif

void ranks_bcast(void *buf, size_t n)
{
#ifdef HAVE_MPI
    if (n_ranks > 1) MPI_Bcast(buf, count_of(n), MPI_BYTE, 0, MPI_COMM_WORLD);
#else
    (void)buf, (void)n;
#endif
}

void ranks_bcast_text(char **text, size_t *n)
{
    if (n_ranks == 1) return;
    unsigned long long len = *n;
    ranks_bcast(&len, sizeof len);
    if (my_rank != 0) {
        free(*text);
        *text = kop_xmalloc(len + 1);
        (*text)[len] = '\0';
        *n = len;
    }
    ranks_bcast(*text, len);
}

char *ranks_gather(const char *buf, size_t n, size_t **lens)
{
    *lens = NULL;
#ifdef HAVE_MPI
    if (n_ranks > 1) {
        int len = count_of(n), *counts = NULL, *offs = NULL;
        char *all = NULL;
        if (my_rank == 0) counts = kop_xmalloc(sizeof *counts * (size_t)n_ranks);
        MPI_Gather(&len, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (my_rank == 0) {
            size_t total = 0;
            offs = kop_xmalloc(sizeof *offs * (size_t)n_ranks);
            *lens = kop_xmalloc(sizeof **lens * (size_t)n_ranks);
            for (int r = 0; r < n_ranks; r++) {
                offs[r] = count_of(total);
                (*lens)[r] = (size_t)counts[r];
                total += (size_t)counts[r];
            }
            count_of(total);
            all = kop_xmalloc(total + 1);
        }
        MPI_Gatherv(buf, len, MPI_BYTE, all, counts, offs, MPI_BYTE, 0, MPI_COMM_WORLD);
        free(counts);
        free(offs);
        return all;
    }
#endif
    *lens = kop_xmalloc(sizeof **lens);
    (*lens)[0] = n;
    char *all = kop_xmalloc(n + 1);
    memcpy(all, buf, n);
    return all;
}

void ranks_abort(int status, const char *fmt, ...)
{
    FILE *out = loud ? loud : stderr;
    va_list ap;
    va_start(ap, fmt);
    if (n_ranks > 1) fprintf(out, "kop: rank %d of %d: ", my_rank, n_ranks);
    else fputs("kop: ", out);
    vfprintf(out, fmt, ap);
    fputs(n_ranks > 1 ? " (stopping every rank)\n" : "\n", out);
    va_end(ap);
    fflush(out);
#ifdef HAVE_MPI
    if (joined) MPI_Abort(MPI_COMM_WORLD, status);
#endif
    exit(status);
}
