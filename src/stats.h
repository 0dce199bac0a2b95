/* stats.h: summary statistics for result tables: mean, standard error and
 * the Student-t 95 % confidence half-width, as the paper's curves show. */
#ifndef KOP_STATS_H
#define KOP_STATS_H

/* Accumulates values; sums are kept in double, which is exact enough for
 * the thousands of values of one sweep point. */
typedef struct Stat {
    long n;
    double sum, sumsq;
} Stat;

void stat_add(Stat *s, double v);
double stat_mean(const Stat *s);
/* Standard error of the mean, sd / sqrt(n) with the n-1 sample sd; NaN for n < 2. */
double stat_stderr(const Stat *s);
/* Half-width of the two-sided 95 % Student-t interval: t(0.975, n-1) * stderr. */
double stat_ci95(const Stat *s);

/* Quantile of Student's t distribution with df degrees of freedom (df > 0),
 * p in (0, 1); by bisection on the CDF, written through the regularized
 * incomplete beta function. */
double student_t_quantile(double p, double df);

#endif
