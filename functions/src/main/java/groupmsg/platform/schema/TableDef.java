package groupmsg.platform.schema;

import java.util.List;

/**
 * A DynamoDB table as both the CDK stack and the local runtime create it. All key attributes are strings.
 * {@code ttlAttribute} is null when nothing in the table expires.
 */
public record TableDef(String name, String partitionKey, String sortKey, List<IndexDef> indexes, String ttlAttribute) {

    /**
     * A global secondary index. It projects every attribute, or only the keys ({@code keysOnly}: the index is then
     * written when a row gets its keys, not on every change of the row's other attributes).
     */
    public record IndexDef(String name, String partitionKey, String sortKey, boolean keysOnly) {
        public IndexDef(String name, String partitionKey, String sortKey) {
            this(name, partitionKey, sortKey, false);
        }
    }

    /** Lambda environment variable that carries this table's deployed name. */
    public String envVar() {
        return "TABLE_" + name.toUpperCase().replace('-', '_');
    }
}
