package groupmsg.platform.schema;

import java.util.List;

/**
 * Every table of the system. The deployed stack and the local runtime both create tables from this list
 * (see docs/TABLES.md for the items each holds and the access pattern each key serves).
 */
public final class Tables {
    /** Accounts, API keys, key-hash lookups, groups, group-name reservations, imports and their error rows,
     * clean-up jobs, idempotency records, lines, messages, opt-outs, inbound messages, outbox rows. */
    public static final TableDef CORE = new TableDef("core", "pk", "sk",
            List.of(new TableDef.IndexDef("gsi1", "gsi1pk", "gsi1sk"), new TableDef.IndexDef("gsi2", "gsi2pk", "gsi2sk")),
            "expiresAt");
    /** Group memberships with add time, removal tombstone and earlier presence intervals. */
    public static final TableDef MEMBERS = new TableDef("members", "pk", "sk", List.of(), "expiresAt");

    /** The deliveries index of rows by the carrier's message id. */
    public static final String DELIVERIES_BY_SID = "sid";

    /**
     * One row per recipient of a group message, spread over shards ({@code MSG#m#<shard>}) so that one large
     * message's writes do not all land on one partition. {@code sid}: a row by the carrier's message id and its
     * account (keys only), for a status callback that does not come to the URL the send gave.
     */
    public static final TableDef DELIVERIES = new TableDef("deliveries", "pk", "sk",
            List.of(new TableDef.IndexDef(Tables.DELIVERIES_BY_SID, "carrierMessageId", "accountId", true)), "expiresAt");

    public static final List<TableDef> ALL = List.of(CORE, MEMBERS, DELIVERIES);

    private Tables() {}
}
