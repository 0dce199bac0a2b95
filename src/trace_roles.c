/* trace_roles.c: see trace_roles.h. */
#include "trace_roles.h"

const char *const trace_role_names[ROLE_N] = {
    [ROLE_CONTEXT] = "context", [ROLE_SUBJ_FIRST] = "subject.first", [ROLE_SUBJ_MIDDLE] = "subject.middle",
    [ROLE_SUBJ_LAST] = "subject.last", [ROLE_AFTER_FIRST] = "after.first", [ROLE_AFTER] = "after",
    [ROLE_LAST] = "last",
};

int trace_roles(unsigned char *roles, int n_tokens, int subj_first, int subj_last)
{
    int n = n_tokens, s0 = subj_first, s1 = subj_last;
    if (n < 1 || s0 < 0 || s1 < s0 || s1 >= n) return -1;
    for (int i = 0; i < n; i++) {
        unsigned r = 0;
        if (i < s0) r |= 1u << ROLE_CONTEXT;
        if (i == s0) r |= 1u << ROLE_SUBJ_FIRST;
        if (i > s0 && i < s1) r |= 1u << ROLE_SUBJ_MIDDLE;
        if (i == s1) r |= 1u << ROLE_SUBJ_LAST;
        if (i == s1 + 1 && i < n - 1) r |= 1u << ROLE_AFTER_FIRST;
        if (i > s1 + 1 && i < n - 1) r |= 1u << ROLE_AFTER;
        if (i == n - 1) r |= 1u << ROLE_LAST;
        roles[i] = (unsigned char)r;
    }
    return 0;
}

void trace_role_means(double mean[ROLE_N], int count[ROLE_N], const unsigned char *roles, const double *values,
                      const unsigned char *present, int n)
{
    for (int r = 0; r < ROLE_N; r++) {
        double sum = 0.0;
        int c = 0;
        for (int i = 0; i < n; i++)
            if ((roles[i] >> r & 1u) && (!present || present[i])) {
                sum += values[i];
                c++;
            }
        count[r] = c;
        mean[r] = c ? sum / c : 0.0;
    }
}
