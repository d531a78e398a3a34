/* Secrets at rest: key file mode, round trip, tampering, HMAC. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "pb/error.h"
#include "pb/secretbox.h"

static void seal_and_open(void) {
  char dir[] = "/tmp/pb-box-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  struct pb_secretbox *box;
  CHECK_INT(pb_secretbox_open(dir, &box), 0);
  char key[600];
  snprintf(key, sizeof key, "%s/secret.key", dir);
  struct stat st;
  CHECK_INT(stat(key, &st), 0);
  CHECK_INT(st.st_mode & 0777, 0600);
  char *sealed = pb_secretbox_seal(box, "demo-secret-0123456789abcdef0123");
  CHECK(sealed && strncmp(sealed, "sb1:", 4) == 0);
  CHECK(strstr(sealed, "demo-secret") == NULL);
  char *plain = NULL;
  CHECK_INT(pb_secretbox_unseal(box, sealed, &plain), 0);
  CHECK_STR(plain, "demo-secret-0123456789abcdef0123");
  pb_secret_free(plain);
  /* the same key is found again */
  struct pb_secretbox *again;
  CHECK_INT(pb_secretbox_open(dir, &again), 0);
  CHECK_INT(pb_secretbox_unseal(again, sealed, &plain), 0);
  pb_secret_free(plain);
  pb_secretbox_free(again);
  /* tampering is detected */
  sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
  CHECK(pb_secretbox_unseal(box, sealed, &plain) != 0);
  CHECK(pb_secretbox_unseal(box, "not sealed", &plain) == PB_EPARSE);
  free(sealed);
  pb_secretbox_free(box);
  /* a key readable by others is refused */
  chmod(key, 0644);
  CHECK(pb_secretbox_open(dir, &box) == PB_ECRYPTO);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_INT(system(cmd), 0);
}

static void hmac(void) {
  /* RFC 4231 test case 2 */
  char out[64];
  CHECK_INT(pb_hmac_sha256_base64("Jefe", 4, "what do ya want for nothing?", 28,
                                  out, sizeof out),
            0);
  CHECK_STR(out, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
  CHECK(pb_secret_equal("abc", "abc"));
  CHECK(!pb_secret_equal("abc", "abd"));
  CHECK(!pb_secret_equal("abc", "abcd"));
}

static void passwords_and_tokens(void) {
  char hash[PB_PASSWORD_HASH_MAX];
  CHECK_INT(pb_password_hash("correct horse", hash, sizeof hash), 0);
  CHECK(strncmp(hash, "$argon2id$", 10) == 0);
  CHECK(strstr(hash, "correct horse") == NULL);
  CHECK_INT(pb_password_verify(hash, "correct horse"), 0);
  CHECK_INT(pb_password_verify(hash, "correct horsf"), PB_EAUTH);
  CHECK_INT(pb_password_verify("plain text", "plain text"), PB_EPARSE);
  char small[8];
  CHECK_INT(pb_password_hash("x", small, sizeof small), PB_EINVAL);
  char a[64], b[64];
  CHECK_INT(pb_random_token(32, a, sizeof a), 0);
  CHECK_INT(pb_random_token(32, b, sizeof b), 0);
  CHECK_INT((int)strlen(a), 43); /* 256 bits, URL-safe Base64, no padding */
  CHECK(strcmp(a, b) != 0);
  CHECK(
      strspn(
          a,
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      43);
  CHECK_INT(pb_random_token(32, small, sizeof small), PB_EINVAL);
  char hex[65];
  CHECK_INT(pb_sha256_hex("abc", 3, hex, sizeof hex), 0);
  CHECK_STR(hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void) {
  RUN(seal_and_open);
  RUN(hmac);
  RUN(passwords_and_tokens);
  return CHECK_DONE();
}
