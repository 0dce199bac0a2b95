/* trace_roles.h: token roles, for `aggregate t by role`.
 *
 * ROME's summary figures average a token x layer map over prompts of
 * different lengths by what each position is, not where it is.  A prompt of
 * n tokens whose subject covers s0..s1 (inclusive) gives each position i the
 * roles (design/TRACING.md, "Roles"), in the order of the summary's rows:
 *
 *   context        i < s0                     (before the subject)
 *   subject.first  i == s0
 *   subject.middle s0 < i < s1
 *   subject.last   i == s1                    (a one-token subject is both
 *                                              first and last, as ROME counts)
 *   after.first    i == s1 + 1 < n - 1        (the first token after the
 *                                              subject, unless it is the last)
 *   after          s1 + 1 < i < n - 1         (the rest before the last)
 *   last           i == n - 1                 (also when the subject ends there)
 *
 * A position has one role, or two (first and last of a one-token subject, a
 * subject's last token that is the prompt's last).  Per prompt, the values of
 * the positions that share a role are averaged; a role no position of the
 * prompt has (no context when the subject starts the prompt) adds nothing to
 * that role's row, so each role's row averages over the prompts that have
 * it.  Pure functions. */
#ifndef KOP_TRACE_ROLES_H
#define KOP_TRACE_ROLES_H

typedef enum {
    ROLE_CONTEXT, ROLE_SUBJ_FIRST, ROLE_SUBJ_MIDDLE, ROLE_SUBJ_LAST, ROLE_AFTER_FIRST, ROLE_AFTER, ROLE_LAST,
    ROLE_N
} Role;

/* "context", "subject.first", ..., "last": the summary's row labels. */
extern const char *const trace_role_names[ROLE_N];

/* roles (n_tokens): bit (1 << r) set for each role r of position i.  0, or -1
 * (roles untouched) when the span is not 0 <= subj_first <= subj_last <
 * n_tokens. */
int trace_roles(unsigned char *roles, int n_tokens, int subj_first, int subj_last);

/* One prompt's row per role: mean[r] the mean of values[i] over the positions
 * i < n with role r and present[i] (present NULL: every position), count[r]
 * how many there were (0: the prompt adds nothing to role r; mean[r] is then
 * 0).  Summed in position order. */
void trace_role_means(double mean[ROLE_N], int count[ROLE_N], const unsigned char *roles, const double *values,
                      const unsigned char *present, int n);

#endif
