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
int pb_secretbox_unseal(struct pb_secretbox *box, const char *sealed,
                        char **plain);
/* Reads the `len` bytes of key file DATA_DIR/<name>, or creates it with
 * random bytes (mode 0600, atomically: services starting together agree on
 * one). A file readable by others or of another size is PB_ECRYPTO. */
int pb_key_file(const char *data_dir, const char *name, unsigned char *key,
                size_t len);
/* Wipes and frees a secret string. Accepts NULL. */
void pb_secret_free(char *secret);
/* Wipes `len` bytes of a secret held in place (a buffer on the stack, a
 * struct) with sodium_memzero, which the compiler may not drop. */
void pb_secret_wipe(void *secret, size_t len);

/* HMAC-SHA256 of body with key, Base64 (standard alphabet). out >= 45. */
int pb_hmac_sha256_base64(const char *key, size_t keylen, const void *body,
                          size_t len, char *out, size_t outlen);
/* Constant-time comparison of two NUL-terminated strings. */
int pb_secret_equal(const char *a, const char *b);

/* Passwords: Argon2id (crypto_pwhash_str) at t=2, m=19 MiB, the OWASP
 * minimum, so that a login costs tens of milliseconds and little memory.
 * The hash string records its parameters. out >= PB_PASSWORD_HASH_MAX. */
#define PB_PASSWORD_HASH_MAX 128
int pb_password_hash(const char *password, char *out, size_t outlen);
/* 0 when the password matches, PB_EAUTH when not, PB_EPARSE when `hash`
 * is not a password hash. */
int pb_password_verify(const char *hash, const char *password);
/* `nbytes` random bytes as URL-safe Base64 without padding (session ids,
 * API tokens, generated passwords). out >= nbytes * 4 / 3 + 2. */
int pb_random_token(size_t nbytes, char *out, size_t outlen);
/* SHA-256 of `len` bytes as 64 lowercase hex digits. out >= 65. */
int pb_sha256_hex(const void *data, size_t len, char *out, size_t outlen);

#endif
