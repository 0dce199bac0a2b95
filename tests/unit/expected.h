/* expected.h: reading ../shared/reference/MODEL/expected.json in tests.
 * The reference values come from independent implementations; tests compare
 * kop's numbers with them (see ../shared/reference/README.md). */
#ifndef KOP_TEST_EXPECTED_H
#define KOP_TEST_EXPECTED_H

#include <json-c/json.h>
#include <stddef.h>

/* Path of the reference model directory (skips the test program when the
 * shared folder is absent) and its parsed expected.json (never NULL). */
const char *ref_model_dir(const char *model);
json_object *ref_expected(const char *model);

json_object *ref_get(json_object *o, const char *key); /* aborts when missing */
int ref_int_array(json_object *arr, int **out);           /* returns the length */
/* A list of numbers or a list of lists: returns rows*cols floats. */
float *ref_matrix(json_object *arr, int *rows, int *cols);

/* Largest |a[i] - b[i]|; NaN anywhere makes it NaN (a failure in <= tests). */
double ref_max_diff(const float *a, const float *b, size_t n);

#endif
