// Tokens of text lines as llama.cpp's own tokenizer gives them: reads a GGUF file's vocabulary
// (vocab_only), then for every line of standard input prints the ids (space-separated, special
// tokens in the text parsed, none added), a tab, and llama.cpp's detokenization of those ids as
// hexadecimal bytes. Built against libllama by scripts/make-gguf-fixtures.sh.
#include "llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet(enum ggml_log_level level, const char *text, void *data) {
  (void)data;
  if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s model.gguf < lines\n", argv[0]);
    return 2;
  }
  llama_log_set(quiet, NULL);
  llama_backend_init();
  struct llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  struct llama_model *model = llama_model_load_from_file(argv[1], params);
  if (!model) return 1;
  const struct llama_vocab *vocab = llama_model_get_vocab(model);
  static char line[1 << 16], text[1 << 18];
  static llama_token tokens[1 << 16];
  while (fgets(line, sizeof line, stdin)) {
    size_t length = strcspn(line, "\n");
    int n = llama_tokenize(vocab, line, (int32_t)length, tokens, 1 << 16, false, true);
    if (n < 0) return 1;
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", tokens[i]);
    int bytes = llama_detokenize(vocab, tokens, n, text, sizeof text, false, true);
    if (bytes < 0) return 1;
    putchar('\t');
    for (int i = 0; i < bytes; i++) printf("%02x", (unsigned char)text[i]);
    putchar('\n');
  }
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
