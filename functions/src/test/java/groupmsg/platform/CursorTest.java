package groupmsg.platform;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.dynamo.Cursor;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CursorTest {
    @Test
    void roundTripsALastEvaluatedKey() {
        var key = Map.of("pk", AttributeValue.fromS("ACCT#a"), "sk", AttributeValue.fromS("GROUP#grp_1"));
        String cursor = Cursor.encode(key);
        assertThat(cursor).doesNotContain("ACCT");
        assertThat(Cursor.decode(cursor, "pk", "ACCT#a")).isEqualTo(key);
    }

    @Test
    void noKeyMeansNoCursorAndNoCursorMeansFirstPage() {
        assertThat(Cursor.encode(null)).isNull();
        assertThat(Cursor.encode(Map.of())).isNull();
        assertThat(Cursor.decode(null, "pk", "x")).isNull();
        assertThat(Cursor.decode("", "pk", "x")).isNull();
    }

    @Test
    void aCursorForAnotherPartitionIsRefused() {
        String other = Cursor.encode(Map.of("pk", AttributeValue.fromS("ACCT#victim"), "sk", AttributeValue.fromS("GROUP#x")));
        assertThatThrownBy(() -> Cursor.decode(other, "pk", "ACCT#attacker"))
                .isInstanceOf(ApiException.class).hasMessageContaining("not valid");
    }

    @Test
    void garbageIsA400() {
        assertThatThrownBy(() -> Cursor.decode("%%%", "pk", "x")).isInstanceOf(ApiException.class);
        assertThatThrownBy(() -> Cursor.decode("bm90IGpzb24", "pk", "x")).isInstanceOf(ApiException.class);
        assertThatThrownBy(() -> Cursor.decode("eyJwayI6MX0", "pk", "x")).isInstanceOf(ApiException.class);
    }

    @Test
    void aCursorMustBeTheListsOwnKeyWhole() {
        var index = Map.of("pk", AttributeValue.fromS("ACCT#a"), "sk", AttributeValue.fromS("MSG#1"),
                "gsi1pk", AttributeValue.fromS("GRP#a#g"), "gsi1sk", AttributeValue.fromS("MSG#1"));
        assertThat(Cursor.decode(Cursor.encode(index), "gsi1pk", "GRP#a#g")).isEqualTo(index);
        // an index list's cursor on the table's list (same partition value) and the other way round
        var table = Map.of("pk", AttributeValue.fromS("ACCT#a"), "sk", AttributeValue.fromS("MSG#1"));
        var indexInTablePartition = Map.of("pk", AttributeValue.fromS("ACCT#a"), "sk", AttributeValue.fromS("MSG#1"),
                "gsi1pk", AttributeValue.fromS("ACCT#a"), "gsi1sk", AttributeValue.fromS("MSG#1"));
        assertThatThrownBy(() -> Cursor.decode(Cursor.encode(indexInTablePartition), "pk", "ACCT#a")).isInstanceOf(ApiException.class);
        assertThatThrownBy(() -> Cursor.decode(Cursor.encode(table), "gsi1pk", "ACCT#a")).isInstanceOf(ApiException.class);
        // empty values, a missing or an extra attribute, a value over DynamoDB's key size
        for (var edited : java.util.List.of(
                Map.of("pk", AttributeValue.fromS("ACCT#a"), "sk", AttributeValue.fromS("")),
                Map.of("pk", AttributeValue.fromS("ACCT#a"), "sk", AttributeValue.fromS("x"), "zz", AttributeValue.fromS("1")),
                Map.of("pk", AttributeValue.fromS("ACCT#a"), "sk", AttributeValue.fromS("x".repeat(1025))),
                Map.of("pk", AttributeValue.fromS("ACCT#a")))) {
            assertThatThrownBy(() -> Cursor.decode(Cursor.encode(edited), "pk", "ACCT#a")).as(edited.keySet().toString())
                    .isInstanceOf(ApiException.class);
        }
    }
}
