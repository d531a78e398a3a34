/* Sealed requests: key pair file, public key payload, seal and open,
 * another key or a tampered box refused, requests round-trip. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "pb/error.h"
#include "pb/sealed.h"
#include "pb/secretbox.h"

static char dir[] = "/tmp/pb-sealed-XXXXXX";

static void public_key(const struct pb_keypair *kp, struct pb_sealed_key *pk) {
  json_t *j = pb_keypair_public_json(kp);
  CHECK_STR(pb_json_str(j, "alg"), "x25519-sealedbox");
  char *text = pb_json_dump(j);
  char err[200];
  CHECK_INT(pb_sealed_key_parse(text, strlen(text), pk, err, sizeof err), 0);
  free(text);
  json_decref(j);
}

static void key_file(void) {
  struct pb_keypair *kp, *again;
  CHECK_INT(pb_keypair_open(dir, "ical-ingest", &kp), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/ical-ingest-request.key", dir);
  struct stat st;
  CHECK_INT(stat(path, &st), 0);
  CHECK_INT(st.st_mode & 0777, 0600);
  CHECK_INT(st.st_size, 32);
  /* the same pair is found again; another service gets its own */
  CHECK_INT(pb_keypair_open(dir, "ical-ingest", &again), 0);
  struct pb_sealed_key a, b, c;
  public_key(kp, &a);
  public_key(again, &b);
  CHECK(memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0);
  pb_keypair_free(again);
  CHECK_INT(pb_keypair_open(dir, "yeastar-gateway", &again), 0);
  public_key(again, &c);
  CHECK(memcmp(a.bytes, c.bytes, sizeof a.bytes) != 0);
  pb_keypair_free(again);
  pb_keypair_free(kp);
  /* a key readable by others is refused */
  chmod(path, 0644);
  CHECK_INT(pb_keypair_open(dir, "ical-ingest", &kp), PB_ECRYPTO);
  chmod(path, 0600);
}

static void key_payloads(void) {
  struct pb_sealed_key k;
  char err[200];
  const char *bad[] = {
      "not json",
      "{\"alg\":\"rsa\",\"key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
      "\"}",
      "{\"alg\":\"x25519-sealedbox\",\"key\":\"AAAA\"}",
      "{\"alg\":\"x25519-sealedbox\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_INT(pb_sealed_key_parse(bad[i], strlen(bad[i]), &k, err, sizeof err),
              PB_EPARSE);
}

static void seal_and_open(void) {
  struct pb_keypair *kp, *other;
  CHECK_INT(pb_keypair_open(dir, "ical-ingest", &kp), 0);
  CHECK_INT(pb_keypair_open(dir, "yeastar-gateway", &other), 0);
  struct pb_sealed_key pk;
  public_key(kp, &pk);
  const char *secret = "{\"password\":\"hunter2-very-secret\"}";
  char *box = pb_sealed_seal(&pk, secret, strlen(secret));
  CHECK(box != NULL);
  CHECK(strstr(box, "hunter2") == NULL);
  char *plain = NULL;
  size_t len = 0;
  CHECK_INT(pb_sealed_open(kp, box, &plain, &len), 0);
  CHECK_STR(plain, secret);
  CHECK_INT(len, strlen(secret));
  pb_secret_free(plain);
  /* sealed to one service, opened by no other */
  CHECK_INT(pb_sealed_open(other, box, &plain, &len), PB_ECRYPTO);
  /* tampering is detected */
  box[20] = box[20] == 'A' ? 'B' : 'A';
  CHECK_INT(pb_sealed_open(kp, box, &plain, &len), PB_ECRYPTO);
  CHECK_INT(pb_sealed_open(kp, "!!!", &plain, &len), PB_EPARSE);
  CHECK_INT(pb_sealed_open(kp, "AAAA", &plain, &len), PB_EPARSE);
  free(box);

  /* a whole request */
  json_t *req = json_pack("{s:s,s:s}", "kind", "url", "password", "p4ss-w0rd");
  json_t *sealed = pb_sealed_request(&pk, req);
  CHECK(sealed && json_object_size(sealed) == 1);
  char *text = pb_json_dump(sealed);
  CHECK(strstr(text, "p4ss") == NULL);
  free(text);
  char err[300];
  json_t *opened = pb_sealed_request_open(kp, sealed, err, sizeof err);
  CHECK(opened && json_equal(opened, req));
  json_decref(opened);
  CHECK(pb_sealed_request_open(other, sealed, err, sizeof err) == NULL);
  CHECK(strstr(err, "another key") != NULL);
  json_t *junk = json_pack("{s:i}", "sealed", 3);
  CHECK(pb_sealed_request_open(kp, junk, err, sizeof err) == NULL);
  json_decref(junk);
  /* a sealed text that is not a JSON object */
  box = pb_sealed_seal(&pk, "[1,2]", 5);
  junk = json_pack("{s:s}", "sealed", box);
  CHECK(pb_sealed_request_open(kp, junk, err, sizeof err) == NULL);
  json_decref(junk);
  free(box);
  json_decref(sealed);
  json_decref(req);
  pb_keypair_free(kp);
  pb_keypair_free(other);
}

int main(void) {
  CHECK(mkdtemp(dir) != NULL);
  RUN(key_file);
  RUN(key_payloads);
  RUN(seal_and_open);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_INT(system(cmd), 0);
  return CHECK_DONE();
}
