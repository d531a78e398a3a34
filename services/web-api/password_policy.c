/* The password policy of web-api's accounts (docs/api.md "Passwords"),
 * after NIST SP 800-63B §5.1.1.2: a minimum length, no password built on
 * the user name, none of the most common passwords (a fixed list embedded
 * below, compared without regard to case, also once trailing digits and
 * symbols are taken off: "Password2024!" is "password"). Pure logic: the
 * routes, the first start and --reset-admin all ask here. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pb/error.h"
#include "web.h"

/* Some of the most used passwords of the public breach corpora (the
 * "top passwords" lists everybody publishes), lowercase, plus the ones a
 * French-speaking office or an installer of this product would try. Only
 * those of WEB_PASSWORD_MIN characters or more can matter once the length
 * is checked, but shorter ones count too when they are the base of a
 * longer one ("dragon2024"). */
/* clang-format off */
static const char *const common[] = {
    "123456", "password", "12345678", "qwerty", "123456789", "12345", "1234",
    "111111", "1234567", "dragon", "123123", "baseball", "abc123", "football",
    "monkey", "letmein", "696969", "shadow", "master", "666666", "qwertyuiop",
    "123321", "mustang", "1234567890", "michael", "654321", "superman",
    "1qaz2wsx", "7777777", "121212", "000000", "qazwsx", "123qwe", "killer",
    "trustno1", "jordan", "jennifer", "zxcvbnm", "asdfgh", "hunter", "buster",
    "soccer", "harley", "batman", "andrew", "tigger", "sunshine", "iloveyou",
    "charlie", "robert", "thomas", "hockey", "ranger", "daniel", "starwars",
    "klaster", "112233", "george", "computer", "michelle", "jessica", "pepper",
    "1111", "zxcvbn", "555555", "11111111", "131313", "freedom", "777777",
    "pass", "maggie", "159753", "aaaaaa", "ginger", "princess", "joshua",
    "cheese", "amanda", "summer", "love", "ashley", "nicole", "chelsea",
    "biteme", "matthew", "access", "yankees", "987654321", "dallas", "austin",
    "thunder", "taylor", "matrix", "william", "corvette", "hello", "martin",
    "heather", "secret", "merlin", "diamond", "1234qwer", "hammer", "silver",
    "222222", "88888888", "anthony", "justin", "test", "bailey", "q1w2e3r4t5",
    "patrick", "internet", "scooter", "orange", "11111", "golfer", "cookie",
    "richard", "samantha", "bigdog", "guitar", "jackson", "whatever", "mickey",
    "chicken", "sparky", "snoopy", "maverick", "phoenix", "camaro", "peanut",
    "morgan", "welcome", "falcon", "cowboy", "ferrari", "samsung", "andrea",
    "smokey", "steelers", "joseph", "mercedes", "dakota", "arsenal", "eagles",
    "melissa", "boomer", "booboo", "spider", "nascar", "monster", "tigers",
    "yellow", "xxxxxx", "123123123", "gateway", "marina", "diablo", "bulldog",
    "qwer1234", "compaq", "purple", "hardcore", "banana", "junior", "hannah",
    "123654", "porsche", "lakers", "iceman", "money", "cowboys", "987654",
    "london", "tennis", "999999", "ncc1701", "coffee", "scooby", "0000",
    "miller", "boston", "q1w2e3r4", "brandon", "yamaha", "chester", "mother",
    "forever", "johnny", "edward", "333333", "oliver", "redsox", "player",
    "nikita", "knight", "fender", "barney", "midnight", "please", "brandy",
    "chicago", "badboy", "slayer", "rangers", "charles", "angel", "flower",
    "rabbit", "wizard", "jasper", "enter", "rachel", "chris", "steven",
    "winner", "adidas", "victoria", "natasha", "1q2w3e4r", "jasmine", "winter",
    "prince", "marine", "fishing", "cocacola", "casper", "james", "232323",
    "raiders", "888888", "marlboro", "gandalf", "asdfasdf", "crystal",
    "87654321", "12344321", "golden", "8675309", "panther", "lauren", "angela",
    "spanky", "thx1138", "angels", "madison", "winston", "shannon", "mike",
    "toyota", "jordan23", "canada", "sophie", "apples", "tiger", "123abc",
    "pokemon", "qazxsw", "55555", "qwaszx", "muffin", "johnson", "murphy",
    "cooper", "jonathan", "liverpool", "david", "danielle", "159357", "jackie",
    "1990", "123456a", "789456", "turtle", "abcd1234", "scorpion", "qazwsxedc",
    "101010", "butter", "carlos", "password1", "passw0rd", "p@ssw0rd",
    "p@ssword", "password12", "password123", "password1234", "qwerty123",
    "qwerty1", "qwerty12", "qwerty1234", "1q2w3e", "1q2w3e4r5t", "1q2w3e4r5t6y",
    "zaq12wsx", "zaq1zaq1", "1qazxsw2", "qweasdzxc", "asdfghjkl", "asdf1234",
    "zxcvbnm1", "qwertyui", "qwertyu", "12341234", "11223344", "123456789a",
    "a123456789", "a123456", "147258369", "123654789", "741852963", "159357456",
    "0987654321", "00000000", "123123123123", "1234554321", "12121212",
    "123qweasd", "1qaz2wsx3edc", "iloveyou1", "iloveyou2", "lovely", "loveyou",
    "babygirl", "sunflower", "butterfly", "chocolate", "princess1", "football1",
    "baseball1", "superman1", "monkey1", "dragon1", "letmein1", "welcome1",
    "welcome123", "shadow1", "master1", "michael1", "blink182", "charlie1",
    "jessica1", "ashley1", "basketball", "soccer1", "hockey1", "starwars1",
    "pokemon1", "computer1", "freedom1", "whatever1", "mustang1", "rainbow",
    "rainbow1", "platinum", "mountain", "december", "november", "october",
    "september", "august", "january", "february", "spring", "autumn", "summer1",
    "winter1", "changeme", "changeit", "change-me", "changethis", "default",
    "administrator", "admin", "admin1", "admin123", "admin1234", "adminadmin",
    "root", "root123", "toor", "guest", "guest123", "user", "user123",
    "test123", "test1234", "testtest", "testing", "testing123", "demo",
    "demo123", "secret123", "letmein123", "welcome01", "login", "logmein",
    "qwerty7", "pass123", "pass1234", "passwort", "passport", "passwd",
    "wachtwoord", "contrasena", "senha", "parola", "haslo", "salasana",
    "motdepasse", "mot-de-passe", "motdepasse1", "azerty", "azertyuiop",
    "azerty123", "azerty1", "azertyui", "qsdfghjklm", "wxcvbn", "soleil",
    "bonjour", "bonjour1", "doudou", "chouchou", "loulou", "marseille", "paris",
    "toulouse", "nicolas", "camille", "julien", "isabelle", "nathalie",
    "stephanie", "sandrine", "celine", "amour", "jetaime", "coucou", "chocolat",
    "vacances", "princesse", "france", "bienvenue", "ecole", "college", "lycee",
    "professeur", "accueil", "secretariat", "standard", "telephone", "yeastar",
    "yeastar123", "presencebus", "presence", "office", "office123", "company",
    "company1", "summer2024", "summer2025", "winter2024", "winter2025",
    "spring2025", "autumn2025", "welcome2024", "welcome2025", "password2024",
    "password2025", "qwerty2024", "letmein2024", "starwars2024", "iloveyou!",
    "password!", "passw0rd!", "p@ssw0rd!", "p@ssw0rd1", "p@$$w0rd", "pa$$word",
    "pa55word", "pa55w0rd", "abc12345", "abcdef", "abcdefg", "abcdefgh",
    "abcdefghi", "abcd123", "abc123456", "aaaaaaaa", "zzzzzzzz", "qqqqqqqq",
    "asdasdasd", "qweqweqwe", "zxczxczxc", "xxxxxxxx", "1a2b3c4d", "a1b2c3d4",
    "a1b2c3", "112233445566", "147258", "147852", "147852369", "258456",
    "321654", "369258147", "456789", "456123", "789123", "1122334455",
    "0123456789", "01234567", "11112222", "1212312121", "99999999", "66666666",
    "22222222", "33333333", "44444444", "55555555", "77777777",
};
/* clang-format on */

static void lower(const char *in, char *out, size_t len) {
  size_t i = 0;
  for (; in[i] && i + 1 < len; i++)
    out[i] = (char)tolower((unsigned char)in[i]);
  out[i] = '\0';
}

static bool is_common(const char *lowered) {
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
    if (strcmp(lowered, common[i]) == 0)
      return true;
  return false;
}

/* A common password once the digits and symbols at its end are gone. */
static bool common_base(const char *lowered) {
  char base[WEB_PASSWORD_MAX + 1];
  pb_strlcpy(base, lowered, sizeof base);
  size_t n = strlen(base);
  while (n > 0 && !isalpha((unsigned char)base[n - 1]) &&
         !((unsigned char)base[n - 1] & 0x80))
    base[--n] = '\0';
  return n > 0 && is_common(base);
}

/* Characters, not bytes: "été" is three. */
static size_t chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* `s` with every occurrence of `cut` taken out (both lowercase). */
static void remove_all(const char *s, const char *cut, char *out, size_t len) {
  size_t cl = strlen(cut), o = 0;
  while (*s && o + 1 < len) {
    if (cl && strncmp(s, cut, cl) == 0) {
      s += cl;
      continue;
    }
    out[o++] = *s++;
  }
  out[o] = '\0';
}

/* pw and rest: room for WEB_PASSWORD_MAX + 1 bytes each (wiped by the
 * caller). */
static int policy(const char *user, const char *password, char *pw, char *rest,
                  char *why, size_t len) {
  size_t n = chars(password);
  if (n < WEB_PASSWORD_MIN) {
    snprintf(why, len, "must be at least %d characters", WEB_PASSWORD_MIN);
    return PB_EINVAL;
  }
  if (strlen(password) > WEB_PASSWORD_MAX) {
    snprintf(why, len, "must be at most %d bytes", WEB_PASSWORD_MAX);
    return PB_EINVAL;
  }
  char name[PB_ID_MAX];
  lower(password, pw, WEB_PASSWORD_MAX + 1);
  lower(user ? user : "", name, sizeof name);
  bool same = true;
  for (size_t i = 1; pw[i] && same; i++)
    same = pw[i] == pw[0];
  if (same) {
    snprintf(why, len, "must not be one character repeated");
    return PB_EINVAL;
  }
  if (*name) {
    if (strcmp(pw, name) == 0) {
      snprintf(why, len, "must not be the user name");
      return PB_EINVAL;
    }
    /* The user name is the first thing an attacker tries with: it counts
     * for nothing towards the length. */
    remove_all(pw, name, rest, WEB_PASSWORD_MAX + 1);
    if (strcmp(rest, pw) != 0 && chars(rest) < WEB_PASSWORD_MIN) {
      snprintf(why, len,
               "must not be built on the user name: without it, at least %d "
               "characters must remain",
               WEB_PASSWORD_MIN);
      return PB_EINVAL;
    }
    if (strcmp(rest, pw) != 0 && (is_common(rest) || common_base(rest))) {
      snprintf(why, len, "must not be the user name around a common password");
      return PB_EINVAL;
    }
  }
  if (is_common(pw) || common_base(pw)) {
    snprintf(why, len,
             "is one of the most common passwords (or one with digits or "
             "symbols added at its end): choose another");
    return PB_EINVAL;
  }
  return 0;
}

int web_password_policy(const char *user, const char *password, char *why,
                        size_t len) {
  char pw[WEB_PASSWORD_MAX + 1], rest[WEB_PASSWORD_MAX + 1];
  pw[0] = rest[0] = '\0';
  int rc = policy(user, password, pw, rest, why, len);
  /* Copies of the password (lower-cased) do not outlive the check. */
  pb_secret_wipe(pw, sizeof pw);
  pb_secret_wipe(rest, sizeof rest);
  return rc;
}
