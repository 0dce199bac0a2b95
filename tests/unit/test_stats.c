/* test_stats.c: mean, standard error, Student-t quantiles against published
 * table values, and SHA-256 against FIPS 180-4 test vectors. */
#include <math.h>
#include <string.h>

#include "sha256.h"
#include "stats.h"
#include "tap.h"

int main(void)
{
    /* two-sided 95 % critical values of Student's t (any statistics table) */
    const double df[] = {1, 2, 5, 10, 30, 100, 671};
    const double want[] = {12.7062, 4.3027, 2.5706, 2.2281, 2.0423, 1.9840, 1.9635};
    for (int i = 0; i < 7; i++)
        is_float(student_t_quantile(0.975, df[i]), want[i], 1e-4, "t(0.975, %g) = %g", df[i], want[i]);
    is_float(student_t_quantile(0.025, 10), -2.2281, 1e-4, "lower quantile is the negative");
    is_float(student_t_quantile(0.5, 3), 0, 0, "median is 0");

    Stat s = {0};
    const double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
    for (int i = 0; i < 8; i++) stat_add(&s, v[i]);
    is_float(stat_mean(&s), 5.0, 1e-12, "mean");
    double sd = sqrt(32.0 / 7.0);
    is_float(stat_stderr(&s), sd / sqrt(8.0), 1e-12, "stderr uses the n-1 sample deviation");
    is_float(stat_ci95(&s), 2.3646 * sd / sqrt(8.0), 1e-4, "ci95 = t(0.975, 7) * stderr");
    Stat one = {0};
    stat_add(&one, 3);
    ok(isnan(stat_stderr(&one)) && isnan(stat_ci95(&one)), "no stderr from one value");

    char hex[65];
    sha256_hex("", 0, hex);
    is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of the empty string");
    sha256_hex("abc", 3, hex);
    is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), hex);
    is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "sha256 of the 448-bit vector");
    return done_testing();
}
