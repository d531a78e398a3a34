/* pb_url (libcurl's URL parser behind one helper): splitting, schemes
 * allowed, default ports, origins, the form for logs, resolving. */
#include <stdlib.h>

#include "check.h"
#include "pb/url.h"

static void splits(void) {
  struct pb_url u;
  char err[160];
  CHECK_INT(pb_url_split("mqtts://user:pw@broker.example.org:8883", NULL, &u,
                         err, sizeof err),
            0);
  CHECK_STR(u.scheme, "mqtts");
  CHECK_STR(u.host, "broker.example.org");
  CHECK_INT(u.port, 8883);
  CHECK_STR(u.path, "");
  CHECK(u.userinfo);
  CHECK_INT(pb_url_split("HTTPS://[fe80::1]:8088/openapi/v1.0/x?a=1&b#frag",
                         NULL, &u, err, sizeof err),
            0);
  CHECK_STR(u.scheme, "https");
  CHECK_STR(u.host, "[fe80::1]");
  CHECK_STR(u.path, "/openapi/v1.0/x?a=1&b"); /* no fragment */
  CHECK(!u.userinfo);
  CHECK_INT(pb_url_split("http://h/a/../b", NULL, &u, err, sizeof err), 0);
  CHECK_STR(u.path, "/a/../b"); /* as written */
  CHECK_INT(pb_url_split("http://h?q", NULL, &u, err, sizeof err), 0);
  CHECK_STR(u.path, "?q");
  CHECK_INT(pb_url_parse("mqtt://localhost", &u), 0);
  CHECK_INT(u.port, 0);
  CHECK_INT(pb_url_port(&u), 1883);
}

static void refuses_with_a_reason(void) {
  static const struct {
    const char *url, *why;
  } bad[] = {
      {"", "the URL is empty"},
      {"broker:1883", "the URL must start with a scheme like https://"},
      {"1http://h", "the URL must start with a scheme like https://"},
      {"mqtt://:1883", "the URL has no host name"},
      {"http:///path", "the URL has no host name"},
      {"http://", "the URL has no host name"},
      {"mqtt://host:0", "the URL's port must be a number 1-65535"},
      {"mqtt://host:", "the URL's port must be a number 1-65535"},
      {"mqtt://host:65536", "the URL's port must be a number 1-65535"},
      {"mqtt://host:8x", "the URL's port must be a number 1-65535"},
      {"http://host/a b", "the URL contains a space, a control character or a "
                          "non-ASCII byte at position 14 (percent-encode it)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct pb_url u;
    char err[160] = "";
    CHECK_INT(pb_url_split(bad[i].url, NULL, &u, err, sizeof err), PB_EINVAL);
    CHECK_STR(err, bad[i].why);
    CHECK_STR(u.host, ""); /* nothing half-filled */
  }
  struct pb_url u;
  CHECK_INT(pb_url_parse(NULL, &u), PB_EINVAL);
  CHECK_INT(pb_url_parse("mqtt://[::1", &u), PB_EINVAL);
}

static void schemes_allowed(void) {
  static const char *const web[] = {"http", "https", NULL};
  struct pb_url u;
  char err[160];
  CHECK_INT(pb_url_split("Https://pbx:8088", web, &u, err, sizeof err), 0);
  CHECK_INT(pb_url_port(&u), 8088);
  CHECK_INT(pb_url_split("mqtt://pbx", web, &u, err, sizeof err), PB_EINVAL);
  CHECK_STR(err, "the URL's scheme mqtt is not one allowed here");
  CHECK_INT(pb_url_split("https://pbx", web, &u, err, sizeof err), 0);
  CHECK_INT(pb_url_port(&u), 443);
  CHECK_INT(pb_url_split("gopher://pbx", NULL, &u, err, sizeof err), 0);
  CHECK_INT(pb_url_port(&u), 0);
}

static void origins(void) {
  CHECK(pb_url_same_origin("https://A.example.org/x",
                           "HTTPS://a.example.org:443/y"));
  CHECK(!pb_url_same_origin("https://a.example.org", "http://a.example.org"));
  CHECK(!pb_url_same_origin("https://a.example.org",
                            "https://a.example.org:8443"));
  CHECK(!pb_url_same_origin("https://a.example.org", "not a url"));
}

static void redacted(void) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"https://user:pw@h.example.org/feed?x#y",
       "https://h.example.org/feed?x#y"},
      {"https://a@b:p@ss@h/x@y", "https://h/x@y"}, /* the last '@' counts */
      {"https://h/path@x", "https://h/path@x"},
      {"https://h?u=a@b", "https://h?u=a@b"},
      {"no url: secret@host", "no url: secret@host"},
      {"webcal://me:not a valid url@h", "webcal://h"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *r = pb_url_redacted(cases[i].in);
    CHECK_STR(r, cases[i].out);
    free(r);
  }
  CHECK(pb_url_redacted(NULL) == NULL);
}

static void resolves(void) {
  static const struct {
    const char *base, *ref, *want;
  } cases[] = {
      {"https://pbx:8088", "/openapi/v1.0/get_token",
       "https://pbx:8088/openapi/v1.0/get_token"},
      {"https://pbx:8088/base/", "openapi/v1.0/",
       "https://pbx:8088/base/openapi/v1.0/"},
      {"https://h/a/b?x", "c?y", "https://h/a/c?y"},
      {"https://h/a/b", "../c", "https://h/c"},
      {"https://h/a", "//other.example.org/z", "https://other.example.org/z"},
      {"https://h/a", "http://new.example.org/feed",
       "http://new.example.org/feed"},
      {"https://h/a", "?q=1", "https://h/a?q=1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *out = NULL;
    CHECK_INT(pb_url_resolve(cases[i].base, cases[i].ref, &out), 0);
    CHECK_STR(out, cases[i].want);
    free(out);
  }
  char *out = (char *)"untouched";
  CHECK_INT(pb_url_resolve("not a url", "x", &out), PB_EINVAL);
  CHECK(out == NULL);
}

int main(void) {
  RUN(splits);
  RUN(refuses_with_a_reason);
  RUN(schemes_allowed);
  RUN(origins);
  RUN(redacted);
  RUN(resolves);
  return CHECK_DONE();
}
