/* A site's settings (services/yeastar-gateway/site.c): the Open API base
 * URL made of the site's URL, the checks of site/add|update|test (URLs
 * read by pb_url: http(s) only, no credentials in them), and the request's
 * fields over a site's current settings. */
#include "test_gw_fake.h"

static void base_url(void) {
  static const char *const cases[][2] = {
      {"http://127.0.0.1:8088", "http://127.0.0.1:8088/openapi/v1.0/"},
      {"https://pbx.example.org:8088/",
       "https://pbx.example.org:8088/openapi/v1.0/"},
      {"https://pbx.example.org//", "https://pbx.example.org/openapi/v1.0/"},
      /* a path in front of the API (a proxy's) stays */
      {"https://proxy.example.org/pbx",
       "https://proxy.example.org/pbx/openapi/v1.0/"},
      /* given whole: kept */
      {"https://pbx:8088/openapi/v1.0", "https://pbx:8088/openapi/v1.0/"},
      {"http://[::1]:8088", "http://[::1]:8088/openapi/v1.0/"},
  };
  char out[GW_URL_MAX + 32];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK_INT(gw_base_url(cases[i][0], out, sizeof out), 0);
    CHECK_STR(out, cases[i][1]);
  }
  /* Too long for the buffer: nothing, and an error. */
  CHECK(gw_base_url("http://127.0.0.1:8088", out, 20) != 0);
  CHECK_STR(out, "");
}

static struct gw_site_settings good(void) {
  struct gw_site_settings set = {0};
  snprintf(set.name, sizeof set.name, "main");
  snprintf(set.url, sizeof set.url, "https://pbx.example.org:8088");
  snprintf(set.client_id, sizeof set.client_id, "client");
  set.secret = strdup("secret-0123456789");
  return set;
}

/* The check refuses `set` naming `field` in its message. */
static void refused(struct gw_site_settings *set, const char *field) {
  char err[300] = "";
  CHECK_INT(gw_settings_check(set, err, sizeof err), PB_EINVAL);
  CHECK(strstr(err, field) != NULL);
  gw_settings_cleanup(set);
}

static void settings_checked(void) {
  char err[300];
  struct gw_site_settings set = good();
  CHECK_INT(gw_settings_check(&set, err, sizeof err), 0);
  gw_settings_cleanup(&set);
  CHECK(set.secret == NULL);

  set = good();
  snprintf(set.url, sizeof set.url, "ftp://pbx.example.org");
  refused(&set, "'url'");
  set = good();
  snprintf(set.url, sizeof set.url, "pbx.example.org:8088");
  refused(&set, "'url'");
  /* Credentials belong in client_id and client_secret, not the URL. */
  set = good();
  snprintf(set.url, sizeof set.url, "https://admin:pw@pbx.example.org");
  refused(&set, "credentials");
  set = good();
  snprintf(set.name, sizeof set.name, "main site");
  refused(&set, "'name'");
  set = good();
  set.client_id[0] = '\0';
  refused(&set, "'client_id'");
  set = good();
  free(set.secret);
  set.secret = NULL;
  refused(&set, "'client_secret'");
  set = good();
  snprintf(set.pinned_key, sizeof set.pinned_key, "sha256//short");
  refused(&set, "'pinned_public_key'");
  set = good();
  set.max_concurrency = 65;
  refused(&set, "'max_concurrency'");
}

static void settings_from_request(void) {
  char err[300] = "";
  struct gw_site_settings base = good(), out;
  /* Absent fields keep the site's values, the secret included (a copy). */
  json_t *j = json_pack("{s:s,s:i}", "name", "main", "rate_per_second", 20);
  CHECK_INT(gw_settings_from_json(j, &base, &out, err, sizeof err), 0);
  CHECK_STR(out.url, base.url);
  CHECK_INT(out.rate_per_second, 20);
  CHECK(out.secret && out.secret != base.secret);
  CHECK_STR(out.secret, "secret-0123456789");
  gw_settings_cleanup(&out);
  json_decref(j);
  /* A new secret replaces it. */
  j = json_pack("{s:s,s:s}", "name", "main", "client_secret", "another-secret");
  CHECK_INT(gw_settings_from_json(j, &base, &out, err, sizeof err), 0);
  CHECK_STR(out.secret, "another-secret");
  gw_settings_cleanup(&out);
  json_decref(j);
  /* An unknown field is named, and nothing is taken. */
  j = json_pack("{s:s,s:s}", "name", "main", "password", "x");
  CHECK_INT(gw_settings_from_json(j, &base, &out, err, sizeof err), PB_EINVAL);
  CHECK(strstr(err, "'password'") != NULL);
  CHECK(out.secret == NULL);
  json_decref(j);
  gw_settings_cleanup(&base);
}

int main(void) {
  pb_log_init("test", PB_LOG_ERROR);
  RUN(base_url);
  RUN(settings_checked);
  RUN(settings_from_request);
  return CHECK_DONE();
}
