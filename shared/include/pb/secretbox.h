/* Secrets at rest (PBX client secrets, tokens, calendar URL tokens) are sealed
 * with libsodium's crypto_secretbox (XSalsa20-Poly1305) under a key kept in
 * DATA_DIR/secret.key, created with mode 0600 on first run. */
#ifndef PB_SECRETBOX_H
#define PB_SECRETBOX_H

#include <stddef.h>

struct pb_secretbox;

int pb_secretbox_open(const char *data_dir, struct pb_secretbox **out);
void pb_secretbox_free(struct pb_secretbox *box);
/* Returns "sb1:<base64 nonce+ciphertext>"; caller frees. NULL on failure. */
char *pb_secretbox_seal(struct pb_secretbox *box, const char *plain);
/* Opens what seal produced; *plain is caller-freed. PB_ECRYPTO when the text
 * was tampered with or sealed under another key. */
int pb_secretbox_unseal(struct pb_secretbox *box, const char *sealed, char **plain);
/* Wipes and frees a secret string. Accepts NULL. */
void pb_secret_free(char *secret);

/* HMAC-SHA256 of body with key, Base64 (standard alphabet). out >= 45. */
int pb_hmac_sha256_base64(const char *key, size_t keylen, const void *body,
                          size_t len, char *out, size_t outlen);
/* Constant-time comparison of two NUL-terminated strings. */
int pb_secret_equal(const char *a, const char *b);

#endif
