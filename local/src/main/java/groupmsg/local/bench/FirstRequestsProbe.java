package groupmsg.local.bench;

import groupmsg.platform.config.Wiring;
import groupmsg.platform.lambda.RequestStreamFunction;
import groupmsg.platform.schema.Handlers;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The first successful requests after SnapStart priming, in a fresh JVM launched by {@link FirstRequestsBenchmark}
 * with the shaded Lambda jar: builds a handler (its no-argument constructor) and a client as the handlers build theirs
 * ({@link Wiring#fromEnvironment()}), runs the handler's priming, then sends the DynamoDB operations the functions
 * use, each succeeding (or failing as the functions expect: a cancelled transaction) on a table of the local runtime,
 * twice over. The first round is what the first requests after a restore pay, the second the requests themselves.
 * Prints {@code FIRSTREQUESTS <op>=<first µs>/<second µs> ...} (microseconds). {@code args: <handler>}.
 */
public final class FirstRequestsProbe {
    @FunctionalInterface
    private interface Request {
        void send(String pk);
    }

    public static void main(String[] args) {
        BenchMain.runThenExit(() -> probe(args[0]));
    }

    private static void probe(String handlerName) throws Exception {
        PrintStream out = System.out;
        System.setOut(System.err); // handlers log to stdout; it is kept for the result line alone
        var handler = (RequestStreamFunction) Class.forName(Handlers.byName(handlerName).className()).getConstructor().newInstance();
        Wiring wiring = Wiring.fromEnvironment();
        DynamoDbClient dynamo = wiring.dynamo();
        String table = wiring.config().table(Tables.CORE);
        if (!handler.priming().prime()) throw new IllegalStateException("priming failed (see the log line above)");

        Map<String, Request> requests = requests(dynamo, table);
        Map<String, long[]> micros = new LinkedHashMap<>();
        String run = Long.toString(System.nanoTime());
        for (int round = 0; round < 2; round++) {
            String pk = "first-requests#" + run + "#" + round;
            for (var request : requests.entrySet()) {
                long start = System.nanoTime();
                request.getValue().send(pk);
                micros.computeIfAbsent(request.getKey(), k -> new long[2])[round] = (System.nanoTime() - start) / 1_000;
            }
        }
        var line = new StringBuilder("FIRSTREQUESTS");
        micros.forEach((op, t) -> line.append(' ').append(op).append('=').append(t[0]).append('/').append(t[1]));
        out.println(line);
        out.flush();
    }

    /** In order: each one's item exists by the time it is read or updated. */
    private static Map<String, Request> requests(DynamoDbClient dynamo, String table) {
        Map<String, Request> requests = new LinkedHashMap<>();
        requests.put("BatchWriteItem", pk -> dynamo.batchWriteItem(b -> b.requestItems(Map.of(table, List.of(
                WriteRequest.builder().putRequest(p -> p.item(item(pk, "a"))).build(),
                WriteRequest.builder().putRequest(p -> p.item(item(pk, "b"))).build())))));
        requests.put("PutItem", pk -> dynamo.putItem(b -> b.tableName(table).item(item(pk, "c"))
                .conditionExpression("attribute_not_exists(pk)")));
        requests.put("GetItem", pk -> expect(dynamo.getItem(b -> b.tableName(table).key(key(pk, "a")).consistentRead(true)).hasItem()));
        requests.put("Query", pk -> expect(dynamo.query(b -> b.tableName(table).keyConditionExpression("pk = :pk")
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(pk))).limit(2)).items().size() == 2));
        requests.put("BatchGetItem", pk -> expect(dynamo.batchGetItem(b -> b.requestItems(Map.of(table,
                KeysAndAttributes.builder().keys(key(pk, "a"), key(pk, "b")).build()))).responses().get(table).size() == 2));
        requests.put("UpdateItem", pk -> expect(dynamo.updateItem(b -> b.tableName(table).key(key(pk, "b"))
                .updateExpression("ADD n :one").expressionAttributeValues(Map.of(":one", AttributeValue.fromN("1")))
                .returnValues(ReturnValue.ALL_NEW)).hasAttributes()));
        requests.put("TransactWriteItems", pk -> dynamo.transactWriteItems(b -> b.transactItems(setStatus(table, pk, "attribute_exists(pk)"))));
        requests.put("TransactWriteItems(cancelled)", pk -> {
            try {
                dynamo.transactWriteItems(b -> b.transactItems(setStatus(table, pk, "attribute_not_exists(pk)")));
                throw new IllegalStateException("the transaction was not cancelled");
            } catch (TransactionCanceledException expected) {
                expect(expected.hasCancellationReasons());
            }
        });
        requests.put("DeleteItem", pk -> dynamo.deleteItem(b -> b.tableName(table).key(key(pk, "c"))));
        return requests;
    }

    private static TransactWriteItem setStatus(String table, String pk, String condition) {
        return TransactWriteItem.builder().update(u -> u.tableName(table).key(key(pk, "a")).updateExpression("SET #s = :s")
                .conditionExpression(condition).expressionAttributeNames(Map.of("#s", "status"))
                .expressionAttributeValues(Map.of(":s", AttributeValue.fromS("sent")))).build();
    }

    private static void expect(boolean answered) {
        if (!answered) throw new IllegalStateException("unexpected answer");
    }

    private static Map<String, AttributeValue> key(String pk, String sk) {
        return Map.of("pk", AttributeValue.fromS(pk), "sk", AttributeValue.fromS(sk));
    }

    private static Map<String, AttributeValue> item(String pk, String sk) {
        var item = new HashMap<>(key(pk, sk));
        item.put("n", AttributeValue.fromN("1"));
        item.put("tags", AttributeValue.fromL(List.of(AttributeValue.fromS("x"))));
        item.put("attrs", AttributeValue.fromM(Map.of("ok", AttributeValue.fromBool(true))));
        return item;
    }
}
