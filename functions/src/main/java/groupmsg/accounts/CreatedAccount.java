package groupmsg.accounts;

/** A new account and its first owner key (the only time the key's secret is visible). */
public record CreatedAccount(String accountId, String apiKey) {}
