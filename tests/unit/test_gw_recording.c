/* yeastar-gateway's recording/get against a fake PBX
 * (services/yeastar-gateway/pbx_recording.c): the download link asked with
 * the site's token, the file fetched from the PBX's own address only,
 * chunks answered in base64, fetched once for every chunk (memory cache or
 * RECORDINGS_DIR), retention, and what is refused or fails. */
#include <sodium.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "test_gw_reply.h"

static const char *const numbers[] = {"2000"};
static const char *const status[] = {"available"};

#define FILE_URL "http://127.0.0.1:1/api/download/Recording-1.wav"
#define AUDIO "RIFF0123456789"

static void ready(struct env *v, const char *dir) {
  env_new_kept(v);
  site_ready(v, "main", numbers, status, 1);
  CHECK_INT(gw_recordings_init(&v->gw, dir, 90, 1), 0);
}

static void done(struct env *v) {
  gw_sites_stop(&v->gw);
  gw_calls_stop(&v->gw);
  env_free(v);
  replies_reset();
}

static struct pb_bus_reply *get(struct env *v, const char *name, int64_t offset,
                                int64_t max) {
  char text[400];
  snprintf(text, sizeof text,
           "{\"site\":\"main\",\"recording\":\"%s\",\"offset\":%lld,"
           "\"max_bytes\":%lld}",
           name, (long long)offset, (long long)max);
  struct pb_bus_reply *r = new_reply();
  run_request(gw_recording_get, v, text, r);
  return r;
}

/* Answers the pending recording/download with `link`. */
static void answer_link(const char *file, const char *link) {
  struct fake_req *q = fake_next("recording/download");
  CHECK(q != NULL);
  if (!q)
    return;
  char expect[300], body[600];
  snprintf(expect, sizeof expect, "file=%s", file);
  CHECK_STR(q->query, expect);
  CHECK_STR(q->token, "tok-1");
  snprintf(body, sizeof body,
           "{\"errcode\":0,\"errmsg\":\"SUCCESS\",\"file\":\"%s\","
           "\"download_resource_url\":\"%s\"}",
           file, link);
  fake_answer(q, 200, body);
}

static void check_chunk(struct pb_bus_reply *r, const char *bytes,
                        int64_t offset) {
  json_t *data = check_ok(r);
  CHECK_STR(pb_json_str(data, "site"), "main");
  CHECK_STR(pb_json_str(data, "content_type"), "audio/wav");
  CHECK_INT(json_integer_value(json_object_get(data, "size")), strlen(AUDIO));
  CHECK_INT(json_integer_value(json_object_get(data, "offset")), offset);
  const char *b64 = pb_json_str(data, "data");
  unsigned char bin[64];
  size_t len = 0;
  CHECK(b64 && sodium_base642bin(bin, sizeof bin, b64, strlen(b64), NULL, &len,
                                 NULL, sodium_base64_VARIANT_ORIGINAL) == 0);
  CHECK_INT(len, strlen(bytes));
  CHECK(memcmp(bin, bytes, len) == 0);
}

static void test_chunks_fetch_once(void) {
  struct env v;
  ready(&v, "");
  struct pb_bus_reply *a = get(&v, "r 1.wav", 0, 4);
  struct pb_bus_reply *b = get(&v, "r 1.wav", 4, 4); /* waits for a's */
  CHECK_INT(fake_pending("recording/download"), 1);
  answer_link("r%201.wav", "/api/download/Recording-1.wav");
  struct fake_req *f = fake_next(FILE_URL);
  CHECK(f != NULL);
  if (f) {
    CHECK_STR(f->token, "tok-1");
    CHECK_STR(f->method, "GET");
    fake_answer(f, 200, AUDIO);
  }
  check_chunk(a, "RIFF", 0);
  check_chunk(b, "0123", 4);
  /* The next chunks come from memory. */
  size_t mark = fake_nreqs;
  check_chunk(get(&v, "r 1.wav", 8, 100), "456789", 8);
  check_chunk(get(&v, "r 1.wav", 14, 100), "", 14);
  check_error(get(&v, "r 1.wav", 15, 100), "past the end");
  CHECK_INT(fake_nreqs, mark);
  done(&v);
}

static void test_not_found(void) {
  struct env v;
  ready(&v, "");
  struct pb_bus_reply *r = get(&v, "gone.wav", 0, 10);
  fake_answer(fake_next("recording/download"), 200,
              "{\"errcode\":40002,\"errmsg\":\"PARAMETER ERROR\","
              "\"invalid_param_list\":[{\"field\":\"file\"}]}");
  check_error(r, "recording not found");
  /* The link is there, the file is not. */
  r = get(&v, "gone.wav", 0, 10);
  answer_link("gone.wav", "/api/download/Recording-1.wav");
  fake_answer(fake_next(FILE_URL), 404, "not found");
  check_error(r, "recording not found");
  /* A PBX failing the fetch. */
  r = get(&v, "gone.wav", 0, 10);
  answer_link("gone.wav", "/api/download/Recording-1.wav");
  fake_answer(fake_next(FILE_URL), 503, "busy");
  check_error(r, "HTTP 503");
  r = get(&v, "gone.wav", 0, 10);
  answer_link("gone.wav", "/api/download/Recording-1.wav");
  fake_fail(fake_next(FILE_URL), PB_HTTP_FAIL_TIMEOUT);
  check_error(r, "fetching the recording from the PBX failed");
  /* Another errcode is named. */
  r = get(&v, "x.wav", 0, 10);
  fake_answer_errcode(fake_next("recording/download"), 50001);
  check_error(r, "errcode 50001");
  done(&v);
}

/* The token goes only to the PBX's own address. */
static void test_link_elsewhere(void) {
  struct env v;
  ready(&v, "");
  const char *links[] = {"http://evil.example/x.wav",
                         "https://127.0.0.1:1/api/download/x.wav",
                         "/api/../../x.wav", ""};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    size_t mark = fake_nreqs;
    struct pb_bus_reply *r = get(&v, "r.wav", 0, 10);
    answer_link("r.wav", links[i]);
    check_error(r, "download link");
    CHECK_INT(fake_nreqs, mark + 1); /* recording/download only */
  }
  /* An absolute link on the PBX's origin is followed. */
  struct pb_bus_reply *r = get(&v, "r.wav", 0, 100);
  answer_link("r.wav", FILE_URL "?k=1");
  struct fake_req *f = fake_next(FILE_URL);
  CHECK(f != NULL);
  if (f) {
    CHECK_STR(f->query, "k=1");
    CHECK_STR(f->token, "tok-1");
    fake_answer(f, 200, AUDIO);
  }
  check_chunk(r, AUDIO, 0);
  done(&v);
}

static void test_refused(void) {
  struct env v;
  ready(&v, "");
  size_t mark = fake_nreqs;
  static const struct {
    const char *req, *error;
  } cases[] = {
      {"{\"recording\":\"../etc/passwd\"}", "field 'recording'"},
      {"{\"recording\":\".x.wav\"}", "field 'recording'"},
      {"{}", "field 'recording'"},
      {"{\"recording\":\"a.wav\",\"offset\":-1}", "'offset'"},
      {"{\"recording\":\"a.wav\",\"max_bytes\":0}", "'max_bytes' must be 1"},
      {"{\"recording\":\"a.wav\",\"max_bytes\":4194305}", "'max_bytes'"},
      {"{\"site\":\"b\",\"recording\":\"a.wav\"}", "no site 'b'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct pb_bus_reply *r = new_reply();
    run_request(gw_recording_get, &v, cases[i].req, r);
    check_error(r, cases[i].error);
  }
  CHECK_INT(fake_nreqs, mark);
  /* At most 4 recordings fetched at once. */
  struct pb_bus_reply *w[4];
  for (int i = 0; i < 4; i++) {
    char name[16];
    snprintf(name, sizeof name, "r%d.wav", i);
    w[i] = get(&v, name, 0, 10);
  }
  check_error(get(&v, "r9.wav", 0, 10), "too many recordings");
  for (int i = 0; i < 4; i++) {
    fake_answer_errcode(fake_next("recording/download"), 40002);
    check_error(w[i], "recording not found");
  }
  done(&v);
}

static void set_age(const char *path, int64_t days) {
  struct timeval tv[2] = {{.tv_sec = (time_t)(pb_clock_now() - days * 86400)},
                          {.tv_sec = (time_t)(pb_clock_now() - days * 86400)}};
  CHECK_INT(utimes(path, tv), 0);
}

static void test_recordings_dir(void) {
  struct env v;
  char dir[64] = "/tmp/pb-gw-rec-XXXXXX", path[200];
  CHECK(mkdtemp(dir) != NULL);
  ready(&v, dir);
  struct pb_bus_reply *r = get(&v, "r1.wav", 0, 4);
  answer_link("r1.wav", "/api/download/Recording-1.wav");
  fake_answer(fake_next(FILE_URL), 200, AUDIO);
  check_chunk(r, "RIFF", 0);
  snprintf(path, sizeof path, "%s/main/r1.wav", dir);
  struct stat st;
  CHECK_INT(stat(path, &st), 0);
  CHECK_INT(st.st_size, strlen(AUDIO));
  CHECK_INT(st.st_mode & 0777, 0600);
  /* After a restart, from the disk. */
  gw_calls_stop(&v.gw);
  CHECK_INT(gw_recordings_init(&v.gw, dir, 90, 1), 0);
  size_t mark = fake_nreqs;
  check_chunk(get(&v, "r1.wav", 10, 4), "6789", 10);
  CHECK_INT(fake_nreqs, mark);
  /* Retention: 90 days after it was fetched. */
  char kept[200];
  snprintf(kept, sizeof kept, "%s/main/r2.wav", dir);
  FILE *fp = fopen(kept, "w");
  CHECK(fp != NULL);
  if (fp)
    fclose(fp);
  set_age(path, 91);
  set_age(kept, 89);
  gw_recordings_sweep(&v.gw);
  CHECK(access(path, F_OK) != 0);
  CHECK_INT(access(kept, F_OK), 0);
  unlink(kept);
  done(&v);
  snprintf(path, sizeof path, "%s/main", dir);
  CHECK_INT(rmdir(path), 0);
  CHECK_INT(rmdir(dir), 0);
}

/* A recording larger than the cache is answered, not kept. */
static void test_cache_bound(void) {
  struct env v;
  env_new_kept(&v);
  site_ready(&v, "main", numbers, status, 1);
  CHECK_INT(gw_recordings_init(&v.gw, "", 90, 0), 0);
  struct pb_bus_reply *r = get(&v, "r1.wav", 0, 4);
  answer_link("r1.wav", "/api/download/Recording-1.wav");
  fake_answer(fake_next(FILE_URL), 200, AUDIO);
  check_chunk(r, "RIFF", 0);
  get(&v, "r1.wav", 4, 4);
  CHECK_INT(fake_pending("recording/download"), 1); /* fetched again */
  fake_answer_errcode(fake_next("recording/download"), 40002);
  done(&v);
}

int main(void) {
  pb_log_init("test", PB_LOG_ERROR);
  RUN(test_chunks_fetch_once);
  RUN(test_not_found);
  RUN(test_link_elsewhere);
  RUN(test_refused);
  RUN(test_recordings_dir);
  RUN(test_cache_bound);
  return CHECK_DONE();
}
