/* For the gateway's request tests (test_gw_dial.c, test_gw_recording.c):
 * the fake I/O of test_gw_fake.h with the answers to bus requests kept, so
 * that a test reads what a request was answered. A request is a slot of
 * `replies`; its address stands for the struct pb_bus_reply. */
#ifndef TEST_GW_REPLY_H
#define TEST_GW_REPLY_H

#include "test_gw_fake.h"

struct kept_reply {
  int answers; /* exactly one expected */
  char error[400];
  json_t *data;
};

static struct kept_reply replies[64];
static size_t nreplies;

static void keep_reply(void *ud, struct pb_bus_reply *reply, const char *error,
                       json_t *data) {
  (void)ud;
  struct kept_reply *k = (struct kept_reply *)reply;
  k->answers++;
  snprintf(k->error, sizeof k->error, "%s", error ? error : "");
  json_decref(k->data);
  k->data = data;
}

/* A new request slot. */
static struct pb_bus_reply *new_reply(void) {
  CHECK(nreplies < sizeof replies / sizeof replies[0]);
  struct kept_reply *k = &replies[nreplies++ % 64];
  memset(k, 0, sizeof *k);
  return (struct pb_bus_reply *)k;
}

static struct kept_reply *kept(struct pb_bus_reply *r) {
  return (struct kept_reply *)r;
}

static void replies_reset(void) {
  for (size_t i = 0; i < nreplies && i < 64; i++) {
    json_decref(replies[i].data);
    replies[i].data = NULL;
  }
  nreplies = 0;
}

/* A gateway whose replies are kept. */
static void env_new_kept(struct env *v) {
  env_new(v, false);
  v->gw.io.reply = keep_reply;
  replies_reset();
}

static void
run_request(void (*fn)(struct gw *, const json_t *, struct pb_bus_reply *),
            struct env *v, const char *text, struct pb_bus_reply *reply) {
  json_t *req = json_loads(text, 0, NULL);
  CHECK(req != NULL);
  fn(&v->gw, req, reply);
  json_decref(req);
}

/* The request was answered once with an error holding `words`. */
static void check_error(struct pb_bus_reply *r, const char *words) {
  CHECK_INT(kept(r)->answers, 1);
  if (!strstr(kept(r)->error, words)) {
    CHECK(!"the error names the problem");
    fprintf(stderr, "  error was '%s', expected '%s'\n", kept(r)->error, words);
  }
}

/* The request was answered once, ok. */
static json_t *check_ok(struct pb_bus_reply *r) {
  CHECK_INT(kept(r)->answers, 1);
  CHECK_STR(kept(r)->error, "");
  return kept(r)->data;
}

#endif
