/* gzip for large answers (RFC 1952 through zlib; the only file of web-api
 * that includes <zlib.h>). The extension list is mostly repeated keys and
 * compresses about tenfold, and browsers, curl --compressed and most HTTP
 * libraries ask for gzip. Without zlib at build time answers stay as is. */
#include <stdlib.h>
#include <string.h>

#include "pb/error.h"
#include "web.h"

#ifdef WEB_HAVE_ZLIB
#include <zlib.h>

bool web_gzip_available(void) {
  return true;
}

int web_gzip(const char *in, size_t len, char **out, size_t *outlen) {
  z_stream z;
  memset(&z, 0, sizeof z);
  /* 15 + 16: a gzip header and trailer instead of zlib's. */
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return PB_ENOMEM;
  uLong cap = deflateBound(&z, (uLong)len);
  char *buf = malloc(cap);
  if (!buf) {
    deflateEnd(&z);
    return PB_ENOMEM;
  }
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)buf;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  size_t n = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(buf);
    return PB_EIO;
  }
  *out = buf;
  *outlen = n;
  return 0;
}
#else
bool web_gzip_available(void) {
  return false;
}

int web_gzip(const char *in, size_t len, char **out, size_t *outlen) {
  (void)in;
  (void)len;
  (void)out;
  (void)outlen;
  return PB_EUNAVAIL;
}
#endif

bool web_accepts_gzip(const char *accept_encoding) {
  if (!accept_encoding || !web_gzip_available())
    return false;
  const char *p = strstr(accept_encoding, "gzip");
  if (!p)
    return false;
  p += 4;
  while (*p == ' ')
    p++;
  if (strncmp(p, ";q=", 3) != 0)
    return true;
  return strtod(p + 3, NULL) > 0; /* "gzip;q=0" refuses it */
}
