package groupmsg.accounts;

import groupmsg.platform.Sha256;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * API key secrets: 256 random bits, shown once, stored only as a SHA-256 hash. A fast unsalted hash is right
 * here (unlike passwords): the secret is uniformly random, so there is nothing to guess, and the hash has to be
 * a lookup key for the authorizer.
 */
final class ApiKeys {
    static final String PREFIX = "gmk_";
    /**
     * Generated keys are 47 characters; a key the operator chose for the local runtime ({@code LOCAL_API_KEY}) may be
     * as short as they like (API.md sets no form), so any non-empty printable key is looked up.
     */
    private static final int MAX_LENGTH = 256;
    /** Shorter keys show no last characters: four of them would give most of the secret away. */
    private static final int MIN_LENGTH_SHOWING_LAST4 = 16;

    private final SecureRandom random = new SecureRandom();

    String generate() {
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    }

    /** Whether a presented value can be a key at all: 1..256 printable ASCII without spaces (saves a table read for junk). */
    static boolean plausible(String key) {
        if (key == null || key.isEmpty() || key.length() > MAX_LENGTH) return false;
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c <= 0x20 || c >= 0x7F) return false;
        }
        return true;
    }

    static String hash(String key) {
        return Sha256.hex(key);
    }

    /** The last four characters, enough for a person to tell keys apart (none of a short key). */
    static String last4(String key) {
        return key.length() < MIN_LENGTH_SHOWING_LAST4 ? "" : key.substring(key.length() - 4);
    }
}
