package groupmsg.messages;

import groupmsg.platform.dynamo.Attr;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;

import java.time.Clock;
import java.util.Map;

import static groupmsg.platform.dynamo.Attr.n;


/**
 * A line's carrier rate shared by every worker: each second of each line has a counter item
 * ({@code RATE#<lineId> / <epochSecond>}, expiring after a minute). A worker reserves a block of that second's
 * slots with one conditional {@code ADD}, and sends slot {@code i} at {@code second + i/mps}, so sends of all
 * workers together are evenly spaced and never exceed {@code mps} in any second.
 */
final class RateLimiter {
    private final DynamoDbClient dynamo;
    private final String table;
    private final Clock clock;

    RateLimiter(DynamoDbClient dynamo, String table, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.clock = clock;
    }

    /** Slots {@code [first, first + count)} of second {@code epochSecond}. */
    record Slots(long epochSecond, int first, int count, int mps) {
        long sendAtMillis(int index) {
            return epochSecond * 1000 + (long) (first + index) * 1000 / mps;
        }
    }

    /** Reserves up to {@code wanted} slots (at least one), waiting for a later second when this one is full. */
    Slots acquire(String lineId, int mps, int wanted) throws InterruptedException {
        long second = clock.millis() / 1000;
        while (true) {
            int ask = Math.min(wanted, mps);
            while (ask > 0) {
                try {
                    long s = second;
                    int k = ask;
                    var result = dynamo.updateItem(b -> b.tableName(table)
                            .key(Attr.key("RATE#" + lineId, Long.toString(s)))
                            .updateExpression("ADD used :k SET expiresAt = :ttl")
                            .conditionExpression("attribute_not_exists(used) OR used <= :max")
                            .expressionAttributeValues(Map.of(":k", n(k), ":max", n(mps - k), ":ttl", n(s + 60)))
                            .returnValues(ReturnValue.UPDATED_NEW));
                    int used = Integer.parseInt(result.attributes().get("used").n());
                    return new Slots(s, used - k, k, mps);
                } catch (ConditionalCheckFailedException full) {
                    ask = ask > 1 ? ask / 2 : 0;
                }
            }
            second = Math.max(second + 1, clock.millis() / 1000);
            long wait = second * 1000 - clock.millis();
            if (wait > 0) Thread.sleep(wait);
        }
    }
}
