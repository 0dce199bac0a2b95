/* stats.c: see stats.h. */
#include "stats.h"

#include <math.h>

void stat_add(Stat *s, double v)
{
    s->n++;
    s->sum += v;
    s->sumsq += v * v;
}

double stat_mean(const Stat *s)
{
    return s->n ? s->sum / (double)s->n : NAN;
}

double stat_stderr(const Stat *s)
{
    if (s->n < 2) return NAN;
    double mean = s->sum / (double)s->n;
    double var = (s->sumsq - (double)s->n * mean * mean) / (double)(s->n - 1);
    return sqrt(var > 0 ? var : 0) / sqrt((double)s->n);
}

double stat_ci95(const Stat *s)
{
    if (s->n < 2) return NAN;
    return student_t_quantile(0.975, (double)(s->n - 1)) * stat_stderr(s);
}

/* continued fraction of the incomplete beta function (modified Lentz) */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + aa * d; if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + aa * d; if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-15) break;
    }
    return h;
}

/* regularized incomplete beta I_x(a, b) */
static double inc_beta(double a, double b, double x)
{
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lbt) * beta_cf(a, b, x) / a;
    return 1.0 - exp(lbt) * beta_cf(b, a, 1.0 - x) / b;
}

static double student_t_cdf(double t, double df)
{
    double tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t));
    return t >= 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double df)
{
    if (p == 0.5) return 0;
    if (p < 0.5) return -student_t_quantile(1.0 - p, df);
    double lo = 0, hi = 1;
    while (student_t_cdf(hi, df) < p && hi < 1e12) hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (student_t_cdf(mid, df) < p) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}
