/* recording/get: a call's recording, fetched from the PBX on demand and
 * given out in chunks (P-Series "Download a Recording File": GET
 * recording/download?file=<name> answers download_resource_url, a path
 * valid 30 minutes, fetched from the PBX's own address with the access
 * token). The link and the token never leave the gateway. A recording is
 * kept under RECORDINGS_DIR/<site>/ when that is set (files older than
 * RECORDINGS_RETENTION_DAYS removed hourly), else in a small in-memory
 * cache (RECORDINGS_CACHE_MB, least recently used out first) so that the
 * chunks of one listen do not download it again. Requests for a recording
 * being fetched wait for that fetch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/tz.h"
#include "pb/url.h"

#define RECORDING_MAX_BYTES (256u * 1024 * 1024) /* ~4 h of 8 kHz WAV */
#define DOWNLOADS_MAX 4 /* recordings being fetched at once */
#define WAITERS_MAX 16  /* requests waiting for one fetch */
#define FETCH_TIMEOUT_MS (5 * 60 * 1000)
#define SWEEP_EVERY_MS (3600 * 1000)

struct waiter {
  struct waiter *next;
  struct pb_bus_reply *reply;
  int64_t offset, max_bytes;
};

struct download {
  struct download *next;
  struct gw_recordings *rs;
  char site[PB_ID_MAX];
  char name[PB_TEXT_MAX];
  struct waiter *waiters;
  size_t nwaiters;
  int64_t started_ms;
  bool orphan; /* given up (no answer in time): freed by its callback */
};

struct cached {
  struct cached *next;
  char site[PB_ID_MAX];
  char name[PB_TEXT_MAX];
  unsigned char *data;
  size_t len;
  int64_t used_ms;
};

struct gw_recordings {
  struct gw *gw;
  char dir[1024]; /* "" : kept in memory only */
  int64_t retention_s;
  size_t cache_max, cache_bytes;
  struct cached *cache;
  struct download *downloads;
  size_t ndownloads;
  struct pb_timer *sweep;
};

/* ---- answers ---- */

static const char *content_type(const char *name) {
  const char *dot = strrchr(name, '.');
  if (dot && !strcasecmp(dot, ".wav"))
    return "audio/wav";
  if (dot && !strcasecmp(dot, ".mp3"))
    return "audio/mpeg";
  if (dot && !strcasecmp(dot, ".gsm"))
    return "audio/gsm";
  if (dot && !strcasecmp(dot, ".ogg"))
    return "audio/ogg";
  return "application/octet-stream";
}

/* The chunk [offset, offset + max_bytes) of a recording of `size` bytes,
 * read by `read` (a file or memory). */
typedef bool read_fn(const void *src, int64_t offset, unsigned char *out,
                     size_t n);

static void answer(struct gw *gw, struct pb_bus_reply *reply, const char *site,
                   const char *name, int64_t size, int64_t offset,
                   int64_t max_bytes, read_fn *read, const void *src) {
  char err[200];
  if (offset > size) {
    snprintf(err, sizeof err,
             "field 'offset' is past the end of the recording (%lld bytes)",
             (long long)size);
    gw_reply_error(gw, reply, err, NULL);
    return;
  }
  size_t n = (size_t)(size - offset < max_bytes ? size - offset : max_bytes);
  unsigned char *bytes = malloc(n ? n : 1);
  size_t b64len =
      sodium_base64_encoded_len(n ? n : 1, sodium_base64_VARIANT_ORIGINAL);
  char *b64 = malloc(b64len);
  if (!bytes || !b64 || (n && !read(src, offset, bytes, n))) {
    free(bytes);
    free(b64);
    gw_reply_error(gw, reply, "the recording could not be read", NULL);
    return;
  }
  sodium_bin2base64(b64, b64len, bytes, n, sodium_base64_VARIANT_ORIGINAL);
  free(bytes);
  gw_reply_ok(gw, reply,
              json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "site", site, "recording",
                        name, "content_type", content_type(name), "size",
                        (json_int_t)size, "offset", (json_int_t)offset, "data",
                        b64));
  free(b64);
}

static bool read_memory(const void *src, int64_t offset, unsigned char *out,
                        size_t n) {
  memcpy(out, (const unsigned char *)src + offset, n);
  return true;
}

static bool read_file(const void *src, int64_t offset, unsigned char *out,
                      size_t n) {
  int fd = *(const int *)src;
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, out + got, n - got, (off_t)offset + (off_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    got += (size_t)r;
  }
  return true;
}

/* ---- where recordings are kept ---- */

static bool file_path(const struct gw_recordings *rs, const char *site,
                      const char *name, char *out, size_t len) {
  int n = snprintf(out, len, "%s/%s/%s", rs->dir, site, name);
  return n > 0 && (size_t)n < len;
}

/* Serves the request from RECORDINGS_DIR; false when the file is not
 * there. */
static bool answer_from_file(struct gw_recordings *rs,
                             struct pb_bus_reply *reply, const char *site,
                             const char *name, int64_t offset,
                             int64_t max_bytes) {
  char path[1400];
  struct stat st;
  if (!rs->dir[0] || !file_path(rs, site, name, path, sizeof path))
    return false;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return false;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return false;
  }
  answer(rs->gw, reply, site, name, (int64_t)st.st_size, offset, max_bytes,
         read_file, &fd);
  close(fd);
  return true;
}

static struct cached *cache_find(struct gw_recordings *rs, const char *site,
                                 const char *name) {
  for (struct cached *c = rs->cache; c; c = c->next)
    if (!strcmp(c->site, site) && !strcmp(c->name, name))
      return c;
  return NULL;
}

static void cached_free(struct cached *c) {
  if (c) {
    free(c->data);
    free(c);
  }
}

/* Takes `data`; a recording larger than the whole cache is not kept. */
static void cache_put(struct gw_recordings *rs, const char *site,
                      const char *name, unsigned char *data, size_t len) {
  if (len > rs->cache_max) {
    free(data);
    return;
  }
  while (rs->cache && rs->cache_bytes + len > rs->cache_max) {
    struct cached **oldest = &rs->cache;
    for (struct cached **p = &rs->cache; *p; p = &(*p)->next)
      if ((*p)->used_ms < (*oldest)->used_ms)
        oldest = p;
    struct cached *gone = *oldest;
    *oldest = gone->next;
    rs->cache_bytes -= gone->len;
    cached_free(gone);
  }
  struct cached *c = calloc(1, sizeof *c);
  if (!c) {
    free(data);
    return;
  }
  pb_strlcpy(c->site, site, sizeof c->site);
  pb_strlcpy(c->name, name, sizeof c->name);
  c->data = data;
  c->len = len;
  c->used_ms = pb_clock_mono_ms();
  c->next = rs->cache;
  rs->cache = c;
  rs->cache_bytes += len;
}

/* Written to a temporary name then renamed, so a reader never sees half a
 * file. */
static bool file_store(struct gw_recordings *rs, const char *site,
                       const char *name, const void *data, size_t len) {
  char dir[1100], path[1400], tmp[1420];
  snprintf(dir, sizeof dir, "%s/%s", rs->dir, site);
  if (mkdir(dir, 0700) && errno != EEXIST) {
    pb_warn("recordings: cannot create %s: %s", dir, strerror(errno));
    return false;
  }
  if (!file_path(rs, site, name, path, sizeof path))
    return false;
  snprintf(tmp, sizeof tmp, "%s/.%s.part", dir, name);
  int fd =
      open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    pb_warn("recordings: cannot write %s: %s", tmp, strerror(errno));
    return false;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, (const char *)data + done, len - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    done += (size_t)w;
  }
  bool ok = done == len && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path)) {
    pb_warn("recordings: %s of %s could not be stored: %s", name, site,
            strerror(errno));
    unlink(tmp);
    return false;
  }
  return true;
}

/* ---- fetching from the PBX ---- */

static struct download *download_find(struct gw_recordings *rs,
                                      const char *site, const char *name) {
  for (struct download *d = rs->downloads; d; d = d->next)
    if (!strcmp(d->site, site) && !strcmp(d->name, name))
      return d;
  return NULL;
}

/* Unlinks d; its waiters are answered by the caller. */
static void download_unlink(struct download *d) {
  struct gw_recordings *rs = d->rs;
  for (struct download **p = &rs->downloads; *p; p = &(*p)->next)
    if (*p == d) {
      *p = d->next;
      rs->ndownloads--;
      break;
    }
}

static void download_fail(struct download *d, const char *error) {
  struct gw *gw = d->rs->gw;
  download_unlink(d);
  while (d->waiters) {
    struct waiter *w = d->waiters;
    d->waiters = w->next;
    gw_reply_error(gw, w->reply, error, NULL);
    free(w);
  }
  free(d);
}

/* A fetch whose answer never came (its site removed while the request
 * was on the wire, which drops its callback): its waiters are answered
 * and its slot freed; the struct waits for a callback that may still
 * come. */
static void downloads_expire(struct gw_recordings *rs) {
  int64_t now = pb_clock_mono_ms();
  struct download *d = rs->downloads;
  while (d) {
    struct download *next = d->next;
    if (now - d->started_ms > 2 * FETCH_TIMEOUT_MS) {
      pb_warn("site %s: recording %s: no answer from the PBX in %d minutes: "
              "given up",
              d->site, d->name, 2 * FETCH_TIMEOUT_MS / 60000);
      download_unlink(d);
      while (d->waiters) {
        struct waiter *w = d->waiters;
        d->waiters = w->next;
        gw_reply_error(rs->gw, w->reply,
                       "the PBX did not answer the recording download", NULL);
        free(w);
      }
      d->orphan = true;
    }
    d = next;
  }
}

static void download_done(struct download *d, const unsigned char *data,
                          size_t len) {
  struct gw_recordings *rs = d->rs;
  download_unlink(d);
  pb_info("site %s: recording %s fetched from the PBX (%zu bytes)", d->site,
          d->name, len);
  unsigned char *copy = NULL;
  if (rs->dir[0])
    file_store(rs, d->site, d->name, data, len);
  else if (len <= rs->cache_max && (copy = malloc(len ? len : 1)))
    memcpy(copy, data, len);
  while (d->waiters) {
    struct waiter *w = d->waiters;
    d->waiters = w->next;
    answer(rs->gw, w->reply, d->site, d->name, (int64_t)len, w->offset,
           w->max_bytes, read_memory, data);
    free(w);
  }
  if (copy)
    cache_put(rs, d->site, d->name, copy, len);
  free(d);
}

static void on_file(const struct pb_http_response *r, void *ud) {
  struct download *d = ud;
  if (d->orphan) {
    free(d);
    return;
  }
  char why[300];
  int64_t code = 0;
  const char *errmsg = NULL;
  if (r->err) {
    /* libcurl's message, not the URL: the link carries the token. */
    snprintf(why, sizeof why,
             "site %s: fetching the recording from the PBX failed (%s)",
             d->site, pb_http_failure_name(r->failure));
    pb_warn("%s", why);
    download_fail(d, why);
    return;
  }
  if (r->status == 404) {
    pb_warn("site %s: recording %s: the PBX's download link answers 404",
            d->site, d->name);
    download_fail(d, "recording not found");
    return;
  }
  /* An Open API error instead of the audio (an expired link, a token the
   * PBX no longer takes). */
  json_t *j = r->content_type && strstr(r->content_type, "json")
                  ? pb_json_parse(r->body, r->len, NULL, 0)
                  : NULL;
  if (r->status != 200 || (gw_envelope(j, &code, &errmsg) && code != 0)) {
    if (j && gw_envelope(j, &code, &errmsg))
      snprintf(why, sizeof why,
               "site %s: the PBX refused the recording download: errcode %lld "
               "(%s)",
               d->site, (long long)code, errmsg);
    else
      snprintf(why, sizeof why,
               "site %s: the PBX answered HTTP %ld to the recording download",
               d->site, r->status);
    json_decref(j);
    pb_warn("%s", why);
    download_fail(d, why);
    return;
  }
  json_decref(j);
  download_done(d, (const unsigned char *)r->body, r->len);
}

/* The download link under the site's own address: "/api/download/x.wav"
 * (what the guide shows) goes after the part of the base URL in front of
 * openapi/ (so a proxy's path prefix stays); an absolute link must be on
 * the PBX's origin, or the token would go elsewhere. */
static int fetch_file(struct gw_site *s, struct download *d, const char *link) {
  char prefix[GW_URL_MAX + 32], urlbuf[GW_URL_MAX + 2048];
  const char *path = link;
  pb_strlcpy(prefix, s->base_url, sizeof prefix);
  char *api = strstr(prefix, "openapi/");
  if (api)
    *api = '\0';
  if (!strncasecmp(link, "http://", 7) || !strncasecmp(link, "https://", 8)) {
    if (!pb_url_same_origin(link, s->base_url))
      return PB_EINVAL;
    struct pb_url u;
    if (pb_url_parse(link, &u))
      return PB_EINVAL;
    path = link + (strstr(link, "://") - link) + 3;
    path = strchr(path, '/');
    if (!path)
      return PB_EINVAL;
  }
  while (*path == '/')
    path++;
  if (!*path || strstr(path, "..") || strpbrk(path, " \r\n#"))
    return PB_EINVAL;
  if (s->token_state != TOKEN_VALID)
    return PB_ESTATE;
  char endpoint[1024], query[1024] = "";
  const char *q = strchr(path, '?');
  size_t n = q ? (size_t)(q - path) : strlen(path);
  if (n >= sizeof endpoint || (q && strlen(q + 1) >= sizeof query))
    return PB_ETOOBIG;
  memcpy(endpoint, path, n);
  endpoint[n] = '\0';
  if (q)
    pb_strlcpy(query, q + 1, sizeof query);
  struct pb_http_request req;
  int rc = gw_http_request(s->gw, &s->set, prefix, "GET", endpoint, query,
                           s->access_token, NULL, urlbuf, sizeof urlbuf, &req);
  if (rc)
    return rc;
  req.max_bytes = RECORDING_MAX_BYTES;
  req.timeout_ms = FETCH_TIMEOUT_MS;
  rc = s->gw->io.http_send(s->gw->io.ud, &req, on_file, d);
  sodium_memzero(urlbuf, sizeof urlbuf);
  return rc;
}

/* errcodes the guide gives for a file that is not there. */
static bool not_found(const json_t *resp) {
  int64_t code = 0;
  const char *msg = NULL;
  if (!gw_envelope(resp, &code, &msg))
    return false;
  return code == GW_ERRCODE_PARAMETER || strstr(msg, "NOT EXIST") ||
         strstr(msg, "NOT FOUND");
}

static void on_link(struct gw_site *s, int err, const char *errmsg,
                    json_t *resp, void *ud) {
  struct download *d = ud;
  char why[400];
  if (d->orphan) {
    free(d);
    return;
  }
  if (err == PB_EPBX && not_found(resp)) {
    pb_info("site %s: recording %s: the PBX has no such file (%s)", s->name,
            d->name, errmsg);
    download_fail(d, "recording not found");
    return;
  }
  if (err) {
    snprintf(why, sizeof why, "site %s: %s", s->name,
             err == PB_ESTATE ? "the site stopped" : errmsg);
    download_fail(d, why);
    return;
  }
  const char *link = pb_json_str(resp, "download_resource_url");
  int rc = link ? fetch_file(s, d, link) : PB_EINVAL;
  if (rc) {
    snprintf(why, sizeof why,
             "site %s: the PBX's recording download link is %s", s->name,
             !link             ? "missing"
             : rc == PB_EINVAL ? "not on the PBX's address (not followed)"
             : rc == PB_ESTATE ? "there but the site has no token now"
                               : "too long or could not be fetched");
    pb_warn("%s", why);
    download_fail(d, why);
  }
}

static void urlencode(const char *in, char *out, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)in; *p && n + 4 < len;
       p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
        (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
        *p == '~') {
      out[n++] = (char)*p;
    } else {
      out[n++] = '%';
      out[n++] = hex[*p >> 4];
      out[n++] = hex[*p & 15];
    }
  }
  out[n] = '\0';
}

static int download_start(struct gw_recordings *rs, struct gw_site *s,
                          const char *name, struct waiter *w) {
  if (rs->ndownloads >= DOWNLOADS_MAX)
    return PB_ETOOBIG;
  struct download *d = calloc(1, sizeof *d);
  if (!d)
    return PB_ENOMEM;
  d->rs = rs;
  d->started_ms = pb_clock_mono_ms();
  pb_strlcpy(d->site, s->name, sizeof d->site);
  pb_strlcpy(d->name, name, sizeof d->name);
  char query[PB_TEXT_MAX * 3 + 8];
  snprintf(query, sizeof query, "file=");
  urlencode(name, query + 5, sizeof query - 5);
  struct gw_request r = {.method = "GET",
                         .endpoint = "recording/download",
                         .query = query,
                         .cb = on_link,
                         .ud = d};
  d->waiters = w;
  d->nwaiters = 1;
  d->next = rs->downloads;
  rs->downloads = d;
  rs->ndownloads++;
  int rc = gw_pbx_submit(s, &r);
  if (rc) {
    download_unlink(d);
    free(d);
  }
  return rc;
}

/* ---- the request ---- */

static int recordings_from_config(struct gw *gw);

void gw_recording_get(struct gw *gw, const json_t *req,
                      struct pb_bus_reply *reply) {
  char err[300];
  const char *name = NULL;
  int64_t offset = 0, max_bytes = 1024 * 1024;
  struct gw_recordings *rs = gw->recordings;
  struct gw_site *s = gw_request_site(gw, req, err, sizeof err);
  if (!s)
    goto refuse;
  if (pb_json_get_str(req, "recording", true, &name, err, sizeof err))
    goto refuse;
  if (!gw_recording_name_valid(name)) {
    snprintf(err, sizeof err,
             "field 'recording' must be a recording's file name (no '/', not "
             "starting with '.')");
    goto refuse;
  }
  int rc = pb_json_get_int(req, "offset", false, &offset, err, sizeof err);
  if (rc && rc != PB_ENOTFOUND)
    goto refuse;
  rc = pb_json_get_int(req, "max_bytes", false, &max_bytes, err, sizeof err);
  if (rc && rc != PB_ENOTFOUND)
    goto refuse;
  if (offset < 0) {
    snprintf(err, sizeof err, "field 'offset' must be 0 or more");
    goto refuse;
  }
  if (max_bytes < 1 || max_bytes > GW_RECORDING_CHUNK_MAX) {
    snprintf(err, sizeof err, "field 'max_bytes' must be 1 to %d",
             GW_RECORDING_CHUNK_MAX);
    goto refuse;
  }
  if (!rs && !recordings_from_config(gw))
    rs = gw->recordings;
  if (!rs) {
    snprintf(err, sizeof err, "recordings are not set up");
    goto refuse;
  }
  if (answer_from_file(rs, reply, s->name, name, offset, max_bytes))
    return;
  struct cached *c = cache_find(rs, s->name, name);
  if (c) {
    c->used_ms = pb_clock_mono_ms();
    answer(gw, reply, s->name, name, (int64_t)c->len, offset, max_bytes,
           read_memory, c->data);
    return;
  }
  struct waiter *w = calloc(1, sizeof *w);
  if (!w) {
    snprintf(err, sizeof err, "out of memory");
    goto refuse;
  }
  *w =
      (struct waiter){.reply = reply, .offset = offset, .max_bytes = max_bytes};
  downloads_expire(rs);
  struct download *d = download_find(rs, s->name, name);
  if (d && d->nwaiters < WAITERS_MAX) {
    w->next = d->waiters;
    d->waiters = w;
    d->nwaiters++;
    return;
  }
  rc = d ? PB_ETOOBIG : download_start(rs, s, name, w);
  if (!rc)
    return;
  free(w);
  snprintf(err, sizeof err, "%s",
           rc == PB_ETOOBIG
               ? "too many recordings being fetched: try again shortly"
               : "the recording download could not be queued");
refuse:
  gw_reply_error(gw, reply, err, NULL);
}

/* ---- retention ---- */

static void sweep_site(struct gw_recordings *rs, const char *dir,
                       int64_t before) {
  DIR *dh = opendir(dir);
  struct dirent *de;
  if (!dh)
    return;
  while ((de = readdir(dh))) {
    char path[1400];
    struct stat st;
    if (de->d_name[0] == '.' && !strstr(de->d_name, ".part"))
      continue;
    int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (n < 0 || (size_t)n >= sizeof path || lstat(path, &st) ||
        !S_ISREG(st.st_mode) || (int64_t)st.st_mtime >= before)
      continue;
    if (unlink(path) == 0)
      pb_info("recordings: %s removed (older than %lld days)", path,
              (long long)(rs->retention_s / 86400));
  }
  closedir(dh);
}

/* Files of every site folder older than the retention go. */
void gw_recordings_sweep(struct gw *gw) {
  struct gw_recordings *rs = gw->recordings;
  if (!rs || !rs->dir[0])
    return;
  int64_t before = pb_clock_now() - rs->retention_s;
  DIR *dh = opendir(rs->dir);
  struct dirent *de;
  if (!dh)
    return;
  while ((de = readdir(dh))) {
    char dir[1100];
    if (de->d_name[0] == '.' || !pb_topic_id_valid(de->d_name))
      continue;
    int n = snprintf(dir, sizeof dir, "%s/%s", rs->dir, de->d_name);
    if (n > 0 && (size_t)n < sizeof dir)
      sweep_site(rs, dir, before);
  }
  closedir(dh);
}

static void on_sweep(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  pb_timer_arm_in(t, SWEEP_EVERY_MS);
  gw_recordings_sweep(ud);
}

int gw_recordings_init(struct gw *gw, const char *dir, int64_t retention_days,
                       int64_t cache_mb) {
  struct gw_recordings *rs = calloc(1, sizeof *rs);
  if (!rs)
    return PB_ENOMEM;
  rs->gw = gw;
  rs->retention_s = retention_days * 86400;
  rs->cache_max = (size_t)cache_mb * 1024 * 1024;
  if (dir && *dir) {
    if (!pb_strlcpy(rs->dir, dir, sizeof rs->dir)) {
      free(rs);
      return PB_ETOOBIG;
    }
    if (mkdir(dir, 0700) && errno != EEXIST) {
      pb_error("RECORDINGS_DIR %s cannot be created: %s", dir, strerror(errno));
      free(rs);
      return PB_EIO;
    }
    rs->sweep = pb_timer_new(gw->loop, on_sweep, gw);
    if (rs->sweep)
      pb_timer_arm_in(rs->sweep, 0);
  }
  gw->recordings = rs;
  return 0;
}

/* RECORDINGS_* (defaults without a configuration: the unit tests). */
static int recordings_from_config(struct gw *gw) {
  if (!gw->cfg)
    return gw_recordings_init(gw, "", 90, 64);
  return gw_recordings_init(
      gw, pb_config_str(gw->cfg, PB_CFG_RECORDINGS_DIR),
      pb_config_int(gw->cfg, PB_CFG_RECORDINGS_RETENTION_DAYS),
      pb_config_int(gw->cfg, PB_CFG_RECORDINGS_CACHE_MB));
}

/* The recordings are set up now when RECORDINGS_DIR is set (its retention
 * runs from the start), else at the first recording/get. */
int gw_calls_start(struct gw *gw) {
  if (!gw->cfg)
    return 0;
  const char *order = pb_config_str(gw->cfg, PB_CFG_PBX_DATE_ORDER);
  if (strcmp(order, "mdy") && strcmp(order, "dmy")) {
    pb_error("PBX_DATE_ORDER: '%s' is not mdy or dmy", order);
    return PB_ECONFIG;
  }
  gw->date_order = !strcmp(order, "dmy") ? GW_DATE_DMY : GW_DATE_MDY;
  const char *zone = pb_config_str(gw->cfg, PB_CFG_PBX_TIMEZONE);
  if (*zone && !gw->pbx_tz && pb_tz_load(zone, &gw->pbx_tz)) {
    pb_error("PBX_TIMEZONE: '%s' is not a time zone", zone);
    return PB_ECONFIG;
  }
  if (*pb_config_str(gw->cfg, PB_CFG_RECORDINGS_DIR) && !gw->recordings)
    return recordings_from_config(gw);
  return 0;
}

void gw_calls_stop(struct gw *gw) {
  struct gw_recordings *rs = gw->recordings;
  pb_tz_free(gw->pbx_tz);
  gw->pbx_tz = NULL;
  if (!rs)
    return;
  while (rs->downloads)
    download_fail(rs->downloads, "the gateway stops");
  while (rs->cache) {
    struct cached *c = rs->cache;
    rs->cache = c->next;
    cached_free(c);
  }
  pb_timer_free(rs->sweep);
  free(rs);
  gw->recordings = NULL;
}
