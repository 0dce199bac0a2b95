/* threads.c: see threads.h. */
#include "threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"

static int count(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int threads_set(int n)
{
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
    omp_set_max_active_levels(1);
#endif
    kern_set_blas_threads(count());
    return count();
}

void threads_prompts(int on)
{
    kern_set_blas_threads(on ? 1 : count());
}

int threads_team(void)
{
#ifdef _OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}
