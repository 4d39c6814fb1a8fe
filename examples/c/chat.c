/*
 * llama4-wgpu from C: open a model, answer each prompt given on the command line as the next turn
 * of one conversation, streaming the text as it comes, then free it.
 *
 *   cargo build --release -p llama4-wgpu-capi
 *   cc examples/c/chat.c -Iinclude -Ltarget/release -lllama4_wgpu_capi -o chat
 *   LD_LIBRARY_PATH=target/release ./chat MODEL.gguf "What is the capital of France?" "And of Italy?"
 *
 * Prints the text to stdout; to stderr, each turn's token ids ("ids: 1 2 3") and why it stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include "llama4_wgpu.h"

typedef struct {
  unsigned count;
  FILE *ids;
} Turn;

static bool on_token(void *user, uint32_t id, const char *text) {
  Turn *turn = (Turn *)user;
  fputs(text, stdout);
  fflush(stdout);
  fprintf(turn->ids, " %u", id);
  turn->count++;
  return true; /* false would stop the answer here */
}

static const char *reason(L4Stop stop) {
  switch (stop) {
    case L4_STOP_END_OF_TURN: return "end of turn";
    case L4_STOP_MAX_TOKENS: return "max tokens";
    case L4_STOP_CANCELLED: return "cancelled";
    case L4_STOP_CONTEXT_FULL: return "context full";
    default: return "error";
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL PROMPT [PROMPT...]\n", argv[0]);
    return 2;
  }
  L4Model *model = l4_model_open(argv[1], 0);
  if (!model) {
    fprintf(stderr, "error: %s\n", l4_last_error());
    return 1;
  }
  fprintf(stderr, "model: %s\n", l4_model_name(model));
  L4Params params = l4_params_default();
  params.max_tokens = 32;
  for (int i = 2; i < argc; i++) {
    Turn turn = {0, stderr};
    fputs("ids:", stderr);
    L4Stop stop = l4_generate(model, argv[i], &params, on_token, &turn);
    fprintf(stderr, "\nstop: %s after %u tokens\n", reason(stop), turn.count);
    putchar('\n');
    if (stop == L4_STOP_ERROR) {
      fprintf(stderr, "error: %s\n", l4_last_error());
      l4_model_free(model);
      return 1;
    }
  }
  l4_model_free(model);
  return 0;
}
