/* The P-Series event feed over WebSocket ("Monitor Events via WebSocket",
 * "API Events Overview"): the server side of RFC 6455 on sockets that
 * sim_http.c upgraded (handshake key, masked client frames, text, ping/pong,
 * close), the {"topic_list":[...]} subscription, "heartbeat", the 60 s idle
 * limit, and the fan-out of events to the subscribers of their type. */
#include "sim.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MSG_MAX (64 * 1024) /* a client message larger is closed 1009 */
#define WS_SESSIONS_MAX 256
#define WS_TOPICS_MAX 64
#define WS_POLL_MS 200    /* idle, token and drop checks run this often */
#define WS_SEND_TIMEOUT 5 /* seconds a write to a stalled client may take */

enum {
  OP_CONT = 0x0,
  OP_TEXT = 0x1,
  OP_BINARY = 0x2,
  OP_CLOSE = 0x8,
  OP_PING = 0x9,
  OP_PONG = 0xA,
};

struct session {
  struct sim_ws *ws;
  int fd;
  sim_ws_close_fn done;
  void *done_ctx;
  char token[SIM_TOKEN_LEN + 1];
  pthread_mutex_t write_mu;
  bool dead; /* a write failed: the reader ends it */
  size_t n_topics;
  int topics[WS_TOPICS_MAX]; /* guarded by ws->mu */
  uint64_t id;
  int64_t opened_ms;
  /* input: raw bytes, then the message being assembled */
  unsigned char *in;
  size_t in_len;
  unsigned char *msg;
  size_t msg_len;
  int msg_op; /* opcode of a fragmented message in progress, or -1 */
};

struct sim_ws {
  struct sim_tokens *tokens;
  pthread_mutex_t mu;
  pthread_cond_t gone; /* signalled when a session ends */
  struct session *sessions[WS_SESSIONS_MAX];
  size_t n_sessions;
  size_t live; /* session threads that have not yet released their socket */
  long idle_ms;
  bool refuse;
  unsigned refuse_status;
  bool stopping;
  uint64_t next_id;
  uint64_t opened, subscribed, idle_closed, token_closed, protocol_closed,
      dropped, events_sent;
};

/* ---- SHA-1 (FIPS 180-4), only for Sec-WebSocket-Accept ---- */

static uint32_t rol(uint32_t v, unsigned n) {
  return (v << n) | (v >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p) {
  uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 80; i++)
    w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (int i = 0; i < 80; i++) {
    uint32_t f, k, t;
    if (i < 20)
      f = (b & c) | (~b & d), k = 0x5A827999;
    else if (i < 40)
      f = b ^ c ^ d, k = 0x6ED9EBA1;
    else if (i < 60)
      f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
    else
      f = b ^ c ^ d, k = 0xCA62C1D6;
    t = rol(a, 5) + f + e + k + w[i];
    e = d, d = c, c = rol(b, 30), b = a, a = t;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

static void sha1(const void *data, size_t len, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  const unsigned char *p = data;
  unsigned char tail[128];
  size_t full = len / 64 * 64, rest = len - full, n;
  uint64_t bits = (uint64_t)len * 8;

  for (size_t i = 0; i < full; i += 64)
    sha1_block(h, p + i);
  memset(tail, 0, sizeof tail);
  memcpy(tail, p + full, rest);
  tail[rest] = 0x80;
  n = rest + 1 + 8 <= 64 ? 64 : 128;
  for (int i = 0; i < 8; i++)
    tail[n - 1 - (size_t)i] = (unsigned char)(bits >> (8 * i));
  for (size_t i = 0; i < n; i += 64)
    sha1_block(h, tail + i);
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 4; j++)
      out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const unsigned char *in, size_t len, char *out) {
  size_t o = 0;

  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len)
      v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < len)
      v |= in[i + 2];
    out[o++] = B64[v >> 18 & 63];
    out[o++] = B64[v >> 12 & 63];
    out[o++] = i + 1 < len ? B64[v >> 6 & 63] : '=';
    out[o++] = i + 2 < len ? B64[v & 63] : '=';
  }
  out[o] = '\0';
}

/* A valid key is the Base64 of 16 bytes: 22 characters and "==". */
static bool key_valid(const char *key) {
  if (strlen(key) != 24 || strcmp(key + 22, "==") != 0)
    return false;
  for (size_t i = 0; i < 22; i++)
    if (strchr(B64, key[i]) == NULL)
      return false;
  return strchr("AQgw", key[21]) != NULL; /* the 4 low bits are padding */
}

int sim_ws_accept_key(const char *key, char *out, size_t size) {
  char joined[64];
  unsigned char digest[20];

  if (key == NULL || !key_valid(key) || size < 29)
    return -1;
  snprintf(joined, sizeof joined, "%s%s", key, WS_GUID);
  sha1(joined, strlen(joined), digest);
  base64(digest, sizeof digest, out);
  return 0;
}

/* ---- the registry ---- */

struct sim_ws *sim_ws_new(struct sim_tokens *tokens, long idle_timeout_s) {
  struct sim_ws *ws = calloc(1, sizeof *ws);

  if (ws == NULL)
    return NULL;
  ws->tokens = tokens;
  ws->idle_ms = idle_timeout_s * 1000;
  ws->refuse_status = 503;
  ws->next_id = 1;
  pthread_mutex_init(&ws->mu, NULL);
  pthread_cond_init(&ws->gone, NULL);
  return ws;
}

/* Every session is shut down and gone once this returns: libmicrohttpd
 * must see every upgraded socket closed before its daemon stops. */
void sim_ws_shutdown(struct sim_ws *ws) {
  if (ws == NULL)
    return;
  pthread_mutex_lock(&ws->mu);
  ws->stopping = true;
  for (size_t i = 0; i < ws->n_sessions; i++)
    shutdown(ws->sessions[i]->fd, SHUT_RDWR);
  while (ws->live > 0) /* until every socket went back to libmicrohttpd */
    pthread_cond_wait(&ws->gone, &ws->mu);
  pthread_mutex_unlock(&ws->mu);
}

void sim_ws_free(struct sim_ws *ws) {
  if (ws == NULL)
    return;
  sim_ws_shutdown(ws);
  pthread_cond_destroy(&ws->gone);
  pthread_mutex_destroy(&ws->mu);
  free(ws);
}

/* ---- frames out ---- */

static int send_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* One unmasked frame (servers never mask), written whole under the
 * session's write lock so frames from several threads never interleave. */
static int send_frame(struct session *s, int op, const void *data, size_t len) {
  unsigned char head[10];
  size_t h = 0;
  int rc;

  head[h++] = (unsigned char)(0x80 | op);
  if (len < 126) {
    head[h++] = (unsigned char)len;
  } else if (len <= 0xFFFF) {
    head[h++] = 126;
    head[h++] = (unsigned char)(len >> 8);
    head[h++] = (unsigned char)len;
  } else {
    head[h++] = 127;
    for (int i = 7; i >= 0; i--)
      head[h++] = (unsigned char)((uint64_t)len >> (8 * i));
  }
  pthread_mutex_lock(&s->write_mu);
  rc = s->dead ? -1 : send_all(s->fd, head, h);
  if (rc == 0 && len > 0)
    rc = send_all(s->fd, data, len);
  if (rc != 0 && !s->dead) {
    s->dead = true;
    shutdown(s->fd, SHUT_RDWR); /* wakes the reader, which ends it */
  }
  pthread_mutex_unlock(&s->write_mu);
  return rc;
}

static int send_text(struct session *s, const char *text) {
  return send_frame(s, OP_TEXT, text, strlen(text));
}

static void send_close(struct session *s, unsigned code, const char *reason) {
  unsigned char body[125];
  size_t n = strlen(reason);

  if (n > sizeof body - 2)
    n = sizeof body - 2;
  body[0] = (unsigned char)(code >> 8);
  body[1] = (unsigned char)code;
  memcpy(body + 2, reason, n);
  send_frame(s, OP_CLOSE, body, n + 2);
}

static void send_json(struct session *s, json_t *j) {
  char *text = json_dumps(j, JSON_COMPACT);

  if (text != NULL)
    send_text(s, text);
  free(text);
  json_decref(j);
}

/* The Open API's parameter error, as an answer on the socket. */
static void send_param_error(struct session *s, const char *field,
                             const char *value) {
  json_t *v = json_string(value);

  send_json(s,
            json_pack("{s:i,s:s,s:[{s:s,s:o}]}", "errcode", SIM_ERR_PARAMETER,
                      "errmsg", "PARAMETER ERROR", "invalid_param_list",
                      "field", field, "value", v ? v : json_string("")));
}

/* ---- messages in ---- */

static bool utf8_valid(const unsigned char *p, size_t n) {
  size_t i = 0;

  while (i < n) {
    unsigned c = p[i], need;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF)
      need = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 3, cp = c & 0x07;
    else
      return false;
    for (unsigned k = 1; k <= need; k++) {
      if (i + k >= n || (p[i + k] & 0xC0) != 0x80)
        return false;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += need + 1;
  }
  return true;
}

/* Event ids the documented event summary numbers: 30001-30099. Those the
 * simulator does not model are accepted and never sent. */
static bool topic_known(json_int_t id) {
  return id >= 30001 && id <= 30099;
}

/* {"topic_list":[30011,30012]}: the subscription replaces any earlier one. */
static void on_subscribe(struct session *s, json_t *j) {
  json_t *list = json_object_get(j, "topic_list"), *v;
  int topics[WS_TOPICS_MAX];
  size_t n = 0, i;
  const char *key;
  char shown[32];

  json_object_foreach(j, key, v) {
    if (strcmp(key, "topic_list") != 0) {
      send_param_error(s, key, "unknown parameter");
      return;
    }
  }
  if (!json_is_array(list) || json_array_size(list) == 0 ||
      json_array_size(list) > WS_TOPICS_MAX) {
    send_param_error(s, "topic_list", "must be a non-empty array of event ids");
    return;
  }
  json_array_foreach(list, i, v) {
    if (!json_is_integer(v) || !topic_known(json_integer_value(v))) {
      char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
      snprintf(shown, sizeof shown, "%s", text ? text : "");
      free(text);
      send_param_error(s, "topic_list", shown);
      return;
    }
    topics[n++] = (int)json_integer_value(v);
  }
  pthread_mutex_lock(&s->ws->mu);
  memcpy(s->topics, topics, n * sizeof topics[0]);
  s->n_topics = n;
  s->ws->subscribed++;
  pthread_mutex_unlock(&s->ws->mu);
  send_json(s, json_pack("{s:i,s:s}", "errcode", 0, "errmsg", "SUCCESS"));
}

static void on_text(struct session *s, const unsigned char *p, size_t n) {
  json_error_t err;
  json_t *j;

  if (n == 9 && memcmp(p, "heartbeat", 9) == 0) {
    send_text(s, "heartbeat response");
    return;
  }
  j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &err);
  if (!json_is_object(j)) {
    json_decref(j);
    send_param_error(s, "message", "not heartbeat nor a JSON object");
    return;
  }
  on_subscribe(s, j);
  json_decref(j);
}

enum step { STEP_MORE, STEP_OK, STEP_CLOSED };

static enum step fail(struct session *s, unsigned code, const char *why) {
  pthread_mutex_lock(&s->ws->mu);
  s->ws->protocol_closed++;
  pthread_mutex_unlock(&s->ws->mu);
  send_close(s, code, why);
  return STEP_CLOSED;
}

/* Parses one frame from s->in if complete; STEP_MORE when bytes are
 * missing, STEP_CLOSED when the session must end. */
static enum step one_frame(struct session *s) {
  unsigned char *p = s->in;
  size_t have = s->in_len, h = 2;
  uint64_t len;
  int op;
  bool fin;

  if (have < 2)
    return STEP_MORE;
  fin = p[0] & 0x80;
  op = p[0] & 0x0F;
  if (p[0] & 0x70)
    return fail(s, 1002, "reserved bits set");
  if (!(p[1] & 0x80))
    return fail(s, 1002, "client frames must be masked");
  len = p[1] & 0x7F;
  if (len == 126) {
    if (have < 4)
      return STEP_MORE;
    len = (uint64_t)p[2] << 8 | p[3];
    h = 4;
  } else if (len == 127) {
    if (have < 10)
      return STEP_MORE;
    len = 0;
    for (int i = 0; i < 8; i++)
      len = len << 8 | p[2 + i];
    h = 10;
  }
  if (op >= 0x8 && (len > 125 || !fin))
    return fail(s, 1002, "bad control frame");
  if (len > WS_MSG_MAX || s->msg_len + len > WS_MSG_MAX)
    return fail(s, 1009, "message too big");
  if (have < h + 4 + len)
    return STEP_MORE;
  {
    unsigned char *mask = p + h, *data = p + h + 4;
    for (uint64_t i = 0; i < len; i++)
      data[i] ^= mask[i % 4];
    h += 4;
  }
  switch (op) {
  case OP_PING:
    send_frame(s, OP_PONG, p + h, (size_t)len);
    break;
  case OP_PONG:
    break;
  case OP_CLOSE: {
    unsigned code = len >= 2 ? (unsigned)p[h] << 8 | p[h + 1] : 1000;
    if (len == 1)
      return fail(s, 1002, "bad close frame");
    send_close(s, code, "");
    return STEP_CLOSED;
  }
  case OP_TEXT:
  case OP_BINARY:
  case OP_CONT:
    if ((op == OP_CONT) != (s->msg_op >= 0))
      return fail(s, 1002, "unexpected continuation");
    if (op != OP_CONT)
      s->msg_op = op;
    memcpy(s->msg + s->msg_len, p + h, (size_t)len);
    s->msg_len += (size_t)len;
    if (fin) {
      int whole = s->msg_op;
      s->msg_op = -1;
      if (whole == OP_BINARY)
        return fail(s, 1003, "text frames only");
      if (!utf8_valid(s->msg, s->msg_len))
        return fail(s, 1007, "text is not UTF-8");
      on_text(s, s->msg, s->msg_len);
      s->msg_len = 0;
    }
    break;
  default:
    return fail(s, 1002, "unknown opcode");
  }
  h += (size_t)len;
  memmove(s->in, s->in + h, s->in_len - h);
  s->in_len -= h;
  return STEP_OK;
}

/* ---- one session ---- */

static void session_remove(struct session *s) {
  struct sim_ws *ws = s->ws;

  pthread_mutex_lock(&ws->mu);
  for (size_t i = 0; i < ws->n_sessions; i++)
    if (ws->sessions[i] == s) {
      ws->sessions[i] = ws->sessions[--ws->n_sessions];
      break;
    }
  pthread_mutex_unlock(&ws->mu);
}

/* Closing with unread client bytes would send a TCP reset that can destroy
 * the close frame in flight: stop writing, then read what the client still
 * sends (at most a second) before the socket goes. */
static void linger_close(int fd) {
  int64_t until = sim_clock_ms() + 1000;
  char sink[4096];

  shutdown(fd, SHUT_WR);
  while (sim_clock_ms() < until) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
      return;
    if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
        recv(fd, sink, sizeof sink, 0) <= 0)
      return;
  }
}

static void *session_run(void *arg) {
  struct session *s = arg;
  struct sim_ws *ws = s->ws;
  int64_t last_rx = sim_clock_ms();
  bool open = true, idle;

  while (open) {
    struct pollfd pfd = {s->fd, POLLIN, 0};
    int r;

    /* Frames already buffered (the bytes read with the request) first. */
    for (enum step st = STEP_OK; open && st == STEP_OK;) {
      st = one_frame(s);
      if (st == STEP_CLOSED)
        open = false;
      else if (st == STEP_OK)
        last_rx = sim_clock_ms();
    }
    if (!open)
      break;
    r = poll(&pfd, 1, WS_POLL_MS);
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0) {
      ssize_t n =
          recv(s->fd, s->in + s->in_len, WS_MSG_MAX + 14 - s->in_len, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break; /* peer gone, dropped, or a write failed */
      s->in_len += (size_t)n;
      continue;
    }
    if (sim_tokens_check(ws->tokens, s->token) != SIM_TOKEN_OK) {
      pthread_mutex_lock(&ws->mu);
      ws->token_closed++;
      pthread_mutex_unlock(&ws->mu);
      send_close(s, 1008, "access token no longer valid");
      break;
    }
    pthread_mutex_lock(&ws->mu);
    idle = sim_clock_ms() - last_rx >= ws->idle_ms;
    if (idle)
      ws->idle_closed++;
    pthread_mutex_unlock(&ws->mu);
    if (idle) {
      send_close(s, 1000, "idle timeout");
      break;
    }
  }
  linger_close(s->fd);
  session_remove(s);
  s->done(s->done_ctx); /* libmicrohttpd closes the socket */
  pthread_mutex_lock(&ws->mu);
  ws->live--;
  pthread_cond_broadcast(&ws->gone);
  pthread_mutex_unlock(&ws->mu);
  pthread_mutex_destroy(&s->write_mu);
  free(s->in);
  free(s->msg);
  free(s);
  return NULL;
}

int sim_ws_serve(struct sim_ws *ws, int fd, const char *extra, size_t extra_len,
                 const char *token, sim_ws_close_fn done, void *done_ctx) {
  struct session *s = calloc(1, sizeof *s);
  struct timeval tv = {WS_SEND_TIMEOUT, 0};
  pthread_attr_t attr;
  pthread_t th;
  int rc;

  if (s == NULL)
    return -1;
  s->in = malloc(WS_MSG_MAX + 14);
  s->msg = malloc(WS_MSG_MAX);
  if (s->in == NULL || s->msg == NULL || extra_len > WS_MSG_MAX + 14) {
    free(s->in);
    free(s->msg);
    free(s);
    return -1;
  }
  s->ws = ws;
  s->fd = fd;
  s->done = done;
  s->done_ctx = done_ctx;
  s->msg_op = -1;
  s->opened_ms = sim_clock_ms();
  snprintf(s->token, sizeof s->token, "%s", token);
  memcpy(s->in, extra, extra_len);
  s->in_len = extra_len;
  pthread_mutex_init(&s->write_mu, NULL);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  pthread_mutex_lock(&ws->mu);
  if (ws->stopping || ws->n_sessions == WS_SESSIONS_MAX) {
    pthread_mutex_unlock(&ws->mu);
    rc = -1;
    goto fail;
  }
  s->id = ws->next_id++;
  ws->sessions[ws->n_sessions++] = s;
  ws->live++;
  ws->opened++;
  pthread_mutex_unlock(&ws->mu);

  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rc = pthread_create(&th, &attr, session_run, s);
  pthread_attr_destroy(&attr);
  if (rc == 0)
    return 0;
  session_remove(s);
  pthread_mutex_lock(&ws->mu);
  ws->live--;
  pthread_cond_broadcast(&ws->gone);
  pthread_mutex_unlock(&ws->mu);
  rc = -1;
fail:
  pthread_mutex_destroy(&s->write_mu);
  free(s->in);
  free(s->msg);
  free(s);
  return rc;
}

/* ---- events out, control ---- */

static bool subscribed(const struct session *s, int type) {
  for (size_t i = 0; i < s->n_topics; i++)
    if (s->topics[i] == type)
      return true;
  return false;
}

void sim_ws_broadcast(struct sim_ws *ws, int type, const char *text) {
  pthread_mutex_lock(&ws->mu);
  for (size_t i = 0; i < ws->n_sessions; i++)
    if (subscribed(ws->sessions[i], type) &&
        send_text(ws->sessions[i], text) == 0)
      ws->events_sent++;
  pthread_mutex_unlock(&ws->mu);
}

size_t sim_ws_drop_all(struct sim_ws *ws) {
  size_t n;

  pthread_mutex_lock(&ws->mu);
  n = ws->n_sessions;
  for (size_t i = 0; i < n; i++)
    shutdown(ws->sessions[i]->fd, SHUT_RDWR);
  ws->dropped += n;
  pthread_mutex_unlock(&ws->mu);
  return n;
}

void sim_ws_set_refuse(struct sim_ws *ws, bool refuse, unsigned status) {
  pthread_mutex_lock(&ws->mu);
  ws->refuse = refuse;
  ws->refuse_status = status;
  pthread_mutex_unlock(&ws->mu);
}

bool sim_ws_refusing(struct sim_ws *ws, unsigned *status) {
  bool r;

  pthread_mutex_lock(&ws->mu);
  r = ws->refuse;
  *status = ws->refuse_status;
  pthread_mutex_unlock(&ws->mu);
  return r;
}

void sim_ws_set_idle_timeout(struct sim_ws *ws, long seconds) {
  pthread_mutex_lock(&ws->mu);
  ws->idle_ms = seconds * 1000;
  pthread_mutex_unlock(&ws->mu);
}

json_t *sim_ws_status(struct sim_ws *ws) {
  json_t *conns = json_array(), *j;
  int64_t now = sim_clock_ms();

  pthread_mutex_lock(&ws->mu);
  for (size_t i = 0; i < ws->n_sessions; i++) {
    const struct session *s = ws->sessions[i];
    json_t *topics = json_array();
    for (size_t k = 0; k < s->n_topics; k++)
      json_array_append_new(topics, json_integer(s->topics[k]));
    json_array_append_new(conns,
                          json_pack("{s:I,s:o,s:I}", "id", (json_int_t)s->id,
                                    "topic_list", topics, "open_seconds",
                                    (json_int_t)((now - s->opened_ms) / 1000)));
  }
  j = json_pack(
      "{s:o,s:b,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "connections", conns,
      "refuse", ws->refuse, "refuse_status", (int)ws->refuse_status,
      "idle_timeout", (json_int_t)(ws->idle_ms / 1000), "opened",
      (json_int_t)ws->opened, "subscribed", (json_int_t)ws->subscribed,
      "idle_closed", (json_int_t)ws->idle_closed, "token_closed",
      (json_int_t)ws->token_closed, "protocol_closed",
      (json_int_t)ws->protocol_closed, "dropped", (json_int_t)ws->dropped,
      "events_sent", (json_int_t)ws->events_sent);
  pthread_mutex_unlock(&ws->mu);
  return j;
}

/* ---- the Open API endpoint: GET subscribe?access_token=... ---- */

/* Whether a comma-separated header value holds token, ignoring case. */
static bool header_has(const char *value, const char *token) {
  size_t n = strlen(token);

  while (value != NULL && *value) {
    while (*value == ' ' || *value == '\t' || *value == ',')
      value++;
    if (strncasecmp(value, token, n) == 0 &&
        (value[n] == '\0' || value[n] == ',' || value[n] == ' ' ||
         value[n] == '\t'))
      return true;
    value = strchr(value, ',');
  }
  return false;
}

void sim_api_subscribe(struct sim *sim, struct sim_request *req,
                       struct sim_reply *out) {
  const char *upgrade = sim_request_header(req, "Upgrade");
  const char *connection = sim_request_header(req, "Connection");
  const char *version = sim_request_header(req, "Sec-WebSocket-Version");
  const char *key = sim_request_header(req, "Sec-WebSocket-Key");
  unsigned status;

  if (sim_ws_refusing(sim->ws, &status)) {
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    out->http_status = status;
    return;
  }
  if (upgrade == NULL || !header_has(upgrade, "websocket") ||
      connection == NULL || !header_has(connection, "upgrade")) {
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    json_object_set_new(out->json, "invalid_param_list",
                        json_pack("[{s:s,s:s}]", "field", "Upgrade", "value",
                                  "a WebSocket upgrade is required"));
    out->http_status = 400;
    return;
  }
  if (version == NULL || strcmp(version, "13") != 0) {
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    out->http_status = 426; /* RFC 6455 4.4: with the version we speak */
    out->ws_version = "13";
    return;
  }
  if (sim_ws_accept_key(key, out->ws_accept, sizeof out->ws_accept) != 0) {
    sim_reply_error(out, SIM_ERR_FAILURE, "FAILURE");
    json_object_set_new(out->json, "invalid_param_list",
                        json_pack("[{s:s,s:s}]", "field", "Sec-WebSocket-Key",
                                  "value", key ? key : ""));
    out->http_status = 400;
    return;
  }
  out->http_status = 101;
  out->upgrade = true;
}
