/* Recording downloads as the guide's "Download a Recording File" page has
 * them: GET recording/download?id=|file= answers the file name and a
 * download_resource_url valid 30 minutes, which the client fetches from
 * the PBX's base URL with its access_token. Every recording is the same
 * small generated WAV (one second of a 440 Hz tone). */
#include "sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINKS_MAX 1024
#define LINK_LIFE_MS (30 * 60 * 1000)
#define KEY_LEN 16
#define FILE_MAX 128

#define RATE 8000

struct link {
  char name[64]; /* the part after /api/download/ */
  char file[FILE_MAX];
  int64_t expires_ms;
};

struct sim_recordings {
  pthread_mutex_t mu;
  struct link links[LINKS_MAX]; /* a ring: the oldest is reused */
  size_t next;
};

struct sim_recordings *sim_recordings_new(void) {
  struct sim_recordings *r = calloc(1, sizeof *r);

  if (r != NULL)
    pthread_mutex_init(&r->mu, NULL);
  return r;
}

void sim_recordings_free(struct sim_recordings *r) {
  if (r == NULL)
    return;
  pthread_mutex_destroy(&r->mu);
  free(r);
}

static void put_le(unsigned char *p, uint32_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* RIFF/WAVE, PCM 16-bit mono 8 kHz, one second of a triangle wave. */
static unsigned char *make_wav(size_t *len) {
  size_t samples = RATE, data = samples * 2;
  unsigned char *w = malloc(44 + data);

  if (w == NULL)
    return NULL;
  memcpy(w, "RIFF", 4);
  put_le(w + 4, (uint32_t)(36 + data), 4);
  memcpy(w + 8, "WAVEfmt ", 8);
  put_le(w + 16, 16, 4);       /* fmt chunk size */
  put_le(w + 20, 1, 2);        /* PCM */
  put_le(w + 22, 1, 2);        /* mono */
  put_le(w + 24, RATE, 4);     /* sample rate */
  put_le(w + 28, RATE * 2, 4); /* byte rate */
  put_le(w + 32, 2, 2);        /* block align */
  put_le(w + 34, 16, 2);       /* bits per sample */
  memcpy(w + 36, "data", 4);
  put_le(w + 40, (uint32_t)data, 4);
  for (size_t i = 0; i < samples; i++) {
    double phase = (double)(i * 440 % RATE) / RATE; /* 0..1 */
    double tri = phase < 0.5 ? 4 * phase - 1 : 3 - 4 * phase;
    int16_t v = (int16_t)(tri * 8000);
    put_le(w + 44 + 2 * i, (uint32_t)(uint16_t)v, 2);
  }
  *len = 44 + data;
  return w;
}

void sim_api_recording_download(struct sim *sim, struct sim_request *req,
                                struct sim_reply *out) {
  const char *id_text = sim_request_arg(req, "id");
  const char *file = sim_request_arg(req, "file");
  struct sim_recordings *r = sim->recordings;
  unsigned char rnd[KEY_LEN];
  char name[FILE_MAX], key[2 * KEY_LEN + 1];
  struct link *l;
  long id = 0;

  if ((id_text == NULL || *id_text == '\0') &&
      (file == NULL || *file == '\0')) {
    sim_reply_param_error(out, "id", ""); /* one of id and file is required */
    return;
  }
  if (id_text != NULL && sim_parse_long(id_text, 1, 1000000000L, &id) != 0) {
    sim_reply_param_error(out, "id", id_text);
    return;
  }
  if (file != NULL && strlen(file) >= FILE_MAX) {
    sim_reply_param_error(out, "file", file);
    return;
  }
  if (sim_calls_recording(sim->calls, id, file, name, sizeof name) != 0) {
    /* Unknown id, unknown file, or an id and a file that disagree. */
    sim_reply_param_error(out, id_text ? "id" : "file",
                          id_text ? id_text : file);
    return;
  }
  if (sim_random_bytes(rnd, sizeof rnd) != 0) {
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    return;
  }
  for (size_t i = 0; i < KEY_LEN; i++)
    snprintf(key + 2 * i, 3, "%02x", rnd[i]);
  pthread_mutex_lock(&r->mu);
  l = &r->links[r->next];
  r->next = (r->next + 1) % LINKS_MAX;
  snprintf(l->name, sizeof l->name, "Recording-download-%s.wav", key);
  snprintf(l->file, sizeof l->file, "%s", name);
  l->expires_ms = sim_clock_ms() + LINK_LIFE_MS;
  sim_reply_success(out, json_pack("{s:s,s:s+}", "file", name,
                                   "download_resource_url", SIM_DOWNLOAD_PREFIX,
                                   l->name));
  pthread_mutex_unlock(&r->mu);
}

/* GET /api/download/<name>?access_token=... (token checked before). */
void sim_api_download_file(struct sim *sim, struct sim_request *req,
                           struct sim_reply *out) {
  struct sim_recordings *r = sim->recordings;
  const char *path = sim_request_path(req);
  const char *name = path + strlen(SIM_DOWNLOAD_PREFIX);
  char file[FILE_MAX] = "";
  int64_t now = sim_clock_ms();

  pthread_mutex_lock(&r->mu);
  for (size_t i = 0; i < LINKS_MAX; i++)
    if (r->links[i].name[0] && strcmp(r->links[i].name, name) == 0 &&
        r->links[i].expires_ms > now)
      snprintf(file, sizeof file, "%s", r->links[i].file);
  pthread_mutex_unlock(&r->mu);
  if (file[0] == '\0') {
    sim_reply_error(out, SIM_ERR_FAILURE, "NOT FOUND");
    out->http_status = 404;
    return;
  }
  out->data = make_wav(&out->data_len);
  if (out->data == NULL) {
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    out->http_status = 500;
    return;
  }
  out->http_status = 200;
  out->content_type = "audio/wav";
  snprintf(out->disposition, sizeof out->disposition,
           "attachment; filename=\"%s\"", file);
}
