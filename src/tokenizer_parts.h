/* tokenizer_parts.h: reading the pipeline sections of a tokenizer.json and
 * the tokenizer_config.json beside it (src/tokenizer_parts.c).  Not API. */
#ifndef KOP_TOKENIZER_PARTS_H
#define KOP_TOKENIZER_PARTS_H

#include <json-c/json.h>

#include "tokenizer_impl.h"

/* Each fills the Tokenizer from root's section; -1 and err (naming path and
 * the JSON path) for what kop does not reproduce or a malformed section. */
int tokp_read_normalizer(Tokenizer *t, const char *path, json_object *root, KopError *err);
int tokp_read_pre_tokenizer(Tokenizer *t, const char *path, json_object *root, KopError *err);
int tokp_read_post_processor(Tokenizer *t, const char *path, json_object *root, KopError *err);
void tokp_read_decoder(Tokenizer *t, json_object *root);
/* A ByteLevel pre-tokenizer step. */
int tokp_add_byte_level(Tokenizer *t, int add_prefix_space, int use_regex, KopError *err);
/* tokenizer_config.json in tokenizer_json's folder, if there is one: the
 * special tokens transformers puts around a text (see tokenizer.h).  Needs
 * the vocabulary and added tokens loaded. */
int tokp_read_config(Tokenizer *t, const char *tokenizer_json, KopError *err);

#endif
