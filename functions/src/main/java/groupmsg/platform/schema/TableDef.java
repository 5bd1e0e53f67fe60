package groupmsg.platform.schema;

import java.util.List;

/**
 * A DynamoDB table as both the CDK stack and the local runtime create it. All key attributes are strings;
 * indexes project everything. {@code ttlAttribute} is null when nothing in the table expires.
 */
public record TableDef(String name, String partitionKey, String sortKey, List<IndexDef> indexes, String ttlAttribute) {

    public record IndexDef(String name, String partitionKey, String sortKey) {}

    /** Lambda environment variable that carries this table's deployed name. */
    public String envVar() {
        return "TABLE_" + name.toUpperCase().replace('-', '_');
    }
}
