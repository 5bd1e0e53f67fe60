package groupmsg.platform.api;

/** Who is calling, as the authorizer resolved it from the API key. Never taken from the request itself. */
public record Caller(String accountId, String keyId, Role role) {}
