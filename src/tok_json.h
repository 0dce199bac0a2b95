/* tok_json.h: json-c parsing with errors that name the file and the place,
 * shared by the tokenizer and prompt readers.
 *
 * tokjson_parse() parses exactly one JSON value from a buffer; trailing
 * white space is allowed, anything else after the value is an error.  Error
 * messages read "PATH:LINE:COL: invalid JSON: WHAT" (LINE counted from
 * first_line, for JSON lines files).  The returned object is owned by the
 * caller (json_object_put). */
#ifndef KOP_TOK_JSON_H
#define KOP_TOK_JSON_H

#include <stddef.h>
#include <json-c/json.h>

#include "util.h"

json_object *tokjson_parse(const char *path, int first_line, const char *buf, size_t len, KopError *err);

/* The member key of obj if it is a JSON string, else NULL (absent or another
 * type; *present tells which when not NULL).  *len gets the byte length. */
const char *tokjson_string(json_object *obj, const char *key, size_t *len, int *present);

#endif
