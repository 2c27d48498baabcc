// Every position's logits of a GGUF model as llama.cpp computes them: reads token ids (one per
// argument after the model and output paths), decodes them as one sequence (key-value cache in
// float32) and writes the positions' logits (tokens × vocabulary float32, little-endian) to the
// output file. Built against libllama by scripts/make-gguf-fixtures.sh.
#include "llama.h"

#include <stdio.h>
#include <stdlib.h>

static void quiet(enum ggml_log_level level, const char *text, void *data) {
  (void)data;
  if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s model.gguf logits.f32 token…\n", argv[0]);
    return 2;
  }
  llama_log_set(quiet, NULL);
  llama_backend_init();
  struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
  if (!model) return 1;
  int n = argc - 3;
  struct llama_context_params params = llama_context_default_params();
  params.n_ctx = 256, params.n_batch = 256, params.n_ubatch = 256, params.n_threads = 2;
  params.n_threads_batch = 2;
  // A float32 cache and no flash attention: the only rounding left is the products' own.
  params.type_k = GGML_TYPE_F32, params.type_v = GGML_TYPE_F32;
  params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  struct llama_context *context = llama_init_from_model(model, params);
  if (!context) return 1;
  struct llama_batch batch = llama_batch_init(n, 0, 1);
  for (int i = 0; i < n; i++) {
    batch.token[i] = atoi(argv[3 + i]), batch.pos[i] = i, batch.n_seq_id[i] = 1, batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = n;
  if (llama_decode(context, batch) != 0) return 1;
  int vocabulary = llama_vocab_n_tokens(llama_model_get_vocab(model));
  FILE *out = fopen(argv[2], "wb");
  if (!out) return 1;
  for (int i = 0; i < n; i++) fwrite(llama_get_logits_ith(context, i), sizeof(float), (size_t)vocabulary, out);
  fclose(out);
  llama_batch_free(batch);
  llama_free(context);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
