package groupmsg.accounts;

public record Account(String id, String name, AccountSettings settings, long createdAt) {}
