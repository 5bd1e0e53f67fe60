package groupmsg.lines;

import groupmsg.local.LocalRuntime;
import groupmsg.local.LocalRuntimeExtension;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;

import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A create of a number whose line the account deletes while the create runs (after it looked for a deleted line of
 * the number, before its transaction): the deleted line comes back, with its opt-outs, rather than a second line
 * of the number that has none of them.
 */
@ExtendWith(LocalRuntimeExtension.class)
class LineRevivalRaceTest {
    private static final String ACCOUNT = "acct_line_revival_race";
    private static final String PHONE = "+13125550177";

    @Test
    void aDeletionCommittingDuringACreateOfItsNumberBringsThatLineBack(LocalRuntime runtime) {
        var plain = new LineService(runtime.wiring());
        var newLine = new LineService.NewLine(PHONE, null, LineType.LONG_CODE, false, 5.0, null, null, null, null);
        Line first = plain.create(ACCOUNT, newLine, runtime.wiring().ids().next(""));

        var deletedMeanwhile = new AtomicBoolean();
        ExecutionInterceptor deleteBeforeTheCreateCommits = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof TransactWriteItemsRequest t && reservesThePhone(t)
                        && deletedMeanwhile.compareAndSet(false, true)) {
                    plain.delete(ACCOUNT, first.id());
                }
            }
        };
        Line created = new LineService(runtime.wiringWith(deleteBeforeTheCreateCommits))
                .create(ACCOUNT, new LineService.NewLine(PHONE, null, LineType.LONG_CODE, false, 7.0, null, null, null, null),
                        runtime.wiring().ids().next(""));

        assertThat(deletedMeanwhile).isTrue();
        assertThat(created.id()).as("the deleted line, brought back").isEqualTo(first.id());
        assertThat(created.createdAt()).isEqualTo(first.createdAt());
        assertThat(plain.get(ACCOUNT, first.id()).mps()).isEqualTo(7);
        var store = new LineStore(new DynamoOps(runtime.wiring().dynamo()), runtime.wiring().config().table(Tables.CORE));
        assertThat(store.all(ACCOUNT)).as("one line of the number, in use").singleElement()
                .satisfies(kept -> assertThat(kept.line().deleted()).isFalse());
        var marker = runtime.wiring().dynamo().getItem(g -> g.tableName(runtime.wiring().config().table(Tables.CORE))
                .key(LineStore.deletedPhoneKey(ACCOUNT, PHONE)).consistentRead(true));
        assertThat(marker.hasItem()).as("the deletion marker goes with the line's return").isFalse();

        // deleted again and created again: back once more, under the same id
        plain.delete(ACCOUNT, first.id());
        assertThat(plain.create(ACCOUNT, newLine, runtime.wiring().ids().next("")).id()).isEqualTo(first.id());
    }

    private static boolean reservesThePhone(TransactWriteItemsRequest request) {
        return request.transactItems().stream().anyMatch(item -> item.put() != null
                && ("LINEPHONE#" + PHONE).equals(item.put().item().get("pk").s()));
    }
}
