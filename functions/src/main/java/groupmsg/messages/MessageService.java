package groupmsg.messages;

import groupmsg.carrier.OutboundMessage;
import groupmsg.groups.GroupService;
import groupmsg.lines.Line;
import groupmsg.lines.LineRules;
import groupmsg.lines.LineService;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Text;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.FilteredPage;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Accepts group messages in O(1) of the group's size (one group read, one transaction, one queue message and the
 * delete of its outbox row) and answers their status; fan-out and delivery happen in the workers.
 */
public final class MessageService {
    /** Delivery rows per shard partition (well under a partition's 1,000 writes/s when written in batches). */
    static final int RECIPIENTS_PER_SHARD = 2000;
    /**
     * At most 5: a fan-out page (1,000 members) is split by shard into delivery jobs (one per shard on a fast line,
     * delivered in blocks of at most 98), so more shards mean more, smaller jobs and blocks, each costing its own
     * claim, record, opt-out lookup and rate reservation. Measured at 100,000 recipients: 100 shards (jobs of
     * 20) 510 AWS requests per 1,000 recipients, 10 shards (shares of ~100: a job of 98 and one of ~2) 220; 5
     * shards (shares of ~200) is what 10,000 recipients always had (137-146). 5 partitions x 1,000 writes/s carry
     * ~1,250 deliveries/s (4 writes each), above any one line's rate.
     */
    static final int MAX_SHARDS = 5;

    private final GroupService groups;
    private final LineService lines;
    private final MessageStore messages;
    private final DeliveryStore deliveries;
    private final Outbox outbox;
    private final Clock clock;
    private final Ids ids;

    public MessageService(Wiring wiring, GroupService groups, QueueSender queue) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.groups = groups;
        this.lines = new LineService(wiring);
        // the accept's transactions retry conflicts for ACCEPT_TIME at most: the last try, started just before the
        // deadline, ends within the function's 10 s
        this.messages = new MessageStore(DynamoOps.withTransactRetryBudget(wiring.dynamo(), ACCEPT_TIME), wiring.config().table(Tables.CORE));
        this.deliveries = new DeliveryStore(ops, wiring.config().table(Tables.DELIVERIES));
        this.outbox = new Outbox(wiring.dynamo(), wiring.config().table(Tables.CORE), queue, wiring.clock());
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    /**
     * @param sentByKeyId  the API key that sends it (kept on the message; null when not known)
     * @param optOutNotice whether the text ends with how to opt out: true with the line's notice (or
     *                     {@link LineRules#DEFAULT_OPT_OUT_NOTICE} when it has none), false without; null as the line
     *                     has it (its notice if it has one)
     */
    public record SendRequest(String lineId, String sender, String title, String body, List<String> mediaUrls,
                              String sentByKeyId, Boolean optOutNotice) {
        public SendRequest(String lineId, String sender, String title, String body, List<String> mediaUrls) {
            this(lineId, sender, title, body, mediaUrls, null, null);
        }
    }

    /** The opt-out notice a message from {@code line} ends with, or null for none. */
    static String optOutNoticeOf(Line line, Boolean asked) {
        if (Boolean.FALSE.equals(asked)) return null;
        if (line.optOutNotice() != null) return line.optOutNotice();
        return Boolean.TRUE.equals(asked) ? LineRules.DEFAULT_OPT_OUT_NOTICE : null;
    }

    /** The body with the notice on a line of its own after it; 400 when the two are too long for one message. */
    static String withNotice(String body, String notice) {
        if (notice == null) return body;
        String withNotice = body + "\n" + notice;
        String problem = OutboundMessage.tooLongToSend(withNotice);
        if (problem != null) {
            throw ApiException.invalid("body: with the opt-out notice \"" + notice + "\" it " + problem
                    + "; shorten it, or send with \"optOutNotice\": false");
        }
        return withNotice;
    }

    /**
     * The text each recipient receives: the sender's name, then the body, in one carrier message. A body too long to
     * go with the whole name (API.md allows 1,600 characters, a carrier message's limit) keeps all of itself and as
     * much of the name as fits: the prefix is what gives way, never the business's words.
     */
    static String textOf(String sender, String body) {
        return OutboundMessage.authored(sender, body);
    }

    /** What a group message would be if sent now: its text as each recipient gets it, counted, and its group and line. */
    public record Preview(groupmsg.groups.Group group, Line line, String text, SmsText sms, boolean mms) {}

    /**
     * The message {@code request} would send to the group now, without storing or sending anything: the same checks
     * as {@link #send} (an unknown group a 404, a line not the account's a 400) and the same text.
     */
    public Preview preview(String accountId, String groupId, SendRequest request) {
        var group = groups.get(accountId, groupId); // an unknown group is a 404 before anything else
        Line line = lines.find(accountId, request.lineId())
                .orElseThrow(() -> ApiException.invalid("lineId: no such line in this account"));
        // composed as it is sent (GSM-7 for an "é" typed with a combining accent), and counted so
        String text = Text.composed(textOf(request.sender(), withNotice(request.body(), optOutNoticeOf(line, request.optOutNotice()))));
        return new Preview(group, line, text, SmsText.of(text), !request.mediaUrls().isEmpty());
    }

    /**
     * Accepts a group message for exactly the members at its acceptance: the group is read, the message gets an
     * acceptance time after the group's last acceptance and latest membership stamp, and is written in one
     * transaction with a condition that the group's membership version is still the one read (no membership change
     * committed in between; a count could change and come back) and a fence that makes every later change stamp
     * itself after that time (GroupStore.counterDelta). So {@code recipients} is the count of the
     * members the fan-out will find present at {@code acceptedAt}: before, a member add in flight (stamped when its
     * request began, committed after the count was read) was sent the message but not counted (measured: 202 with 786
     * recipients, 884 sent). When the condition fails the group is read again (bounded: it only fails when the
     * membership or another message's acceptance moved meanwhile).
     */
    public GroupMessage send(String accountId, String groupId, SendRequest request) {
        return send(accountId, groupId, request, ids.next(""));
    }

    /**
     * @param ulid the id's time-ordered part: the same on every run of one request under an Idempotency-Key, so a
     *             run after one that accepted the message (and then failed, or died before answering) answers that
     *             message instead of sending a second one
     */
    public GroupMessage send(String accountId, String groupId, SendRequest request, String ulid) {
        String id = MessageStore.GROUP_ID_PREFIX + ulid;
        Preview preview;
        try {
            preview = preview(accountId, groupId, request);
        } catch (ApiException e) {
            // the group or line deleted (or the line's notice changed) since an earlier run of this request accepted
            // the message: that is the answer (a read only on this path, which a first run never takes with a group
            // and line that exist)
            return messages.get(accountId, id).orElseThrow(() -> e);
        }
        var group = preview.group();
        Line line = preview.line();
        String text = preview.text();
        SmsText sms = preview.sms();
        long giveUpAt = clock.millis() + ACCEPT_TIME.toMillis();
        for (int attempt = 0; attempt < MAX_ACCEPT_ATTEMPTS; attempt++) {
            if (attempt > 0) {
                if (clock.millis() >= giveUpAt) break;
                pause(attempt);
                group = groups.get(accountId, groupId);
            }
            long acceptedAt = Math.max(clock.millis(), Math.max(group.lastSendAt() + 1, group.stampedTo()));
            long recipients = group.memberCount();
            int shards = (int) Math.max(1, Math.min(MAX_SHARDS, (recipients + RECIPIENTS_PER_SHARD - 1) / RECIPIENTS_PER_SHARD));
            var message = new GroupMessage(id, accountId, groupId, line.id(), line.phone(), line.mps(),
                    request.sender(), request.title(), request.body(), request.mediaUrls(), text, sms.encoding(),
                    request.mediaUrls().isEmpty() ? sms.segments() : 1, recipients, shards, acceptedAt, false,
                    GroupMessage.SENDING, null, MessageKind.GROUP, List.of(), 0, null, group.name(), request.sentByKeyId(), 0, 0);
            // The fan-out's job is staged in the acceptance's transaction: once the message is accepted it is sent,
            // and the request succeeds, even when SQS fails right after (the outbox's redrive sends the job).
            var fanout = outbox.entry(message.id(), Queues.FANOUT, FanoutService.job(accountId, message.id()));
            // A message under this id already (an earlier run of the request committed it) is answered as it is.
            GroupMessage accepted = messages.createAccepted(message, groups.acceptFence(accountId, group, acceptedAt),
                    outbox.stage(fanout));
            if (accepted != null) {
                outbox.dispatchOrLeave(fanout);
                return accepted;
            }
        }
        throw ApiException.conflict("the group's members kept changing while the message was accepted; try again");
    }

    /** A short, growing pause before reading the group again: the writers whose change moved it go on meanwhile. */
    private static void pause(int attempt) {
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(1, 5L + 5L * Math.min(attempt, 10)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while accepting a message", e);
        }
    }

    /** Reads of the group before a send gives up on a membership that keeps changing under it (an import writes
     * about ten units a second at most, so each read has a fair chance). */
    static final int MAX_ACCEPT_ATTEMPTS = 50;

    /**
     * How long a send may go on trying before its 409: no new try starts after it, and one try's transaction retries
     * its conflicts this long at most (not {@link groupmsg.platform.dynamo.DynamoOps#TRANSACT_RETRY_BUDGET}'s 6 s), so
     * the request ends within about twice this, under the function's 10 s: tries under a busy group took it past its
     * timeout, a 5xx from API Gateway whose transaction could still commit (sent, while the caller, told it failed,
     * sends again).
     */
    static final java.time.Duration ACCEPT_TIME = java.time.Duration.ofSeconds(3);

    /** @param recipient the listed number's delivery, in a list narrowed to one number (null otherwise) */
    public record MessageView(GroupMessage message, Map<String, Long> counts, Delivery recipient) {
        public MessageView(GroupMessage message, Map<String, Long> counts) {
            this(message, counts, null);
        }
    }

    /** Whether the account has a message with this id (a retried request's check for what its first run stored). */
    public boolean exists(String accountId, String messageId) {
        return messages.get(accountId, messageId).isPresent();
    }

    public MessageView get(String accountId, String messageId) {
        if (!messageId.startsWith(MessageStore.GROUP_ID_PREFIX)) throw ApiException.notFound("message");
        GroupMessage m = messages.get(accountId, messageId).orElseThrow(() -> ApiException.notFound("message"));
        return new MessageView(m, deliveries.counts(m.id(), m.shards()));
    }

    public record MessagePage(List<MessageView> messages, Map<String, AttributeValue> lastKey) {}

    public MessagePage list(String accountId, String groupId, int limit, Map<String, AttributeValue> start) {
        return list(accountId, new ListFilter(groupId, null, null, null, null, null, null), limit, start);
    }

    /**
     * What a list of group messages keeps; every part optional (null).
     *
     * @param search a part of the title, ignoring case and accents
     * @param status {@link GroupMessage#SENDING} or {@link GroupMessage#SENT}
     * @param since  accepted at or after (epoch ms)
     * @param until  accepted at or before (epoch ms)
     * @param phone  sent to this number (E.164): it has a delivery row in the message
     */
    public record ListFilter(String groupId, String lineId, String search, String status, Long since, Long until,
                             String phone) {
        boolean narrows() {
            return lineId != null || search != null || status != null || since != null || until != null || phone != null;
        }

        boolean keeps(GroupMessage m, String needle) {
            return (lineId == null || lineId.equals(m.lineId()))
                    && (status == null || status.equals(m.status()))
                    && (since == null || m.acceptedAt() >= since)
                    && (until == null || m.acceptedAt() <= until)
                    && (needle == null || Text.searchMatches(m.title(), needle));
        }
    }

    /** Messages read per step of a filtered list, and the steps one page may take. */
    static final int FILTERED_STEP = 100;
    static final int FILTERED_STEPS = 10;

    /**
     * Newest first. Filtered, the messages (the group's, when given; those made about when the time range asks) are
     * read 100 at a time until the page is full and one more is found (so a cursor is given only when another
     * follows), or 1,000 were read (then the cursor goes on from there, and the page may hold fewer than
     * {@code limit}). Each listed message's counts are its shards' counters. Narrowed to a number, each step's
     * messages are checked for its delivery row in one BatchGetItem (its shard follows from the number), and each
     * listed message carries that delivery.
     */
    public MessagePage list(String accountId, ListFilter filter, int limit, Map<String, AttributeValue> start) {
        // a line that is none of the account's (in use or deleted) is a 404, as the inbound and opt-out lists answer:
        // an empty list looked like "nothing sent" for a mistyped id
        if (filter.lineId() != null && lines.findKept(accountId, filter.lineId()).isEmpty()) throw ApiException.notFound("line");
        List<MessageView> found;
        Map<String, AttributeValue> lastKey;
        if (!filter.narrows()) {
            var page = messages.list(accountId, filter.groupId(), limit, start);
            found = page.messages().stream().map(m -> new MessageView(m, null)).toList();
            lastKey = page.lastKey();
        } else {
            String needle = filter.search() == null ? null : Text.searchForm(filter.search());
            var page = FilteredPage.fill(limit, FILTERED_STEPS, start, from -> {
                var step = messages.list(accountId, filter.groupId(), filter.since(), filter.until(), FILTERED_STEP, from);
                var kept = step.messages().stream().filter(m -> filter.keeps(m, needle)).toList();
                if (filter.phone() == null || kept.isEmpty()) {
                    return new FilteredPage.Step<>(kept.stream().map(m -> new MessageView(m, null)).toList(), step.lastKey());
                }
                var rows = deliveries.rowsOf(filter.phone(), kept);
                return new FilteredPage.Step<>(kept.stream().filter(m -> rows.containsKey(m.id()))
                        .map(m -> new MessageView(m, null, rows.get(m.id()))).toList(), step.lastKey());
            }, v -> MessageStore.listKey(v.message(), filter.groupId() != null));
            found = page.items();
            lastKey = page.lastKey();
        }
        // so is a group that is none of the account's, found out only when a first page is empty: a deleted group's
        // messages still list (the group's messages are read once more, one item, to tell it from one never sent to)
        if (filter.groupId() != null && start == null && found.isEmpty() && !groups.exists(accountId, filter.groupId())
                && messages.list(accountId, filter.groupId(), 1, null).messages().isEmpty()) {
            throw ApiException.notFound("group");
        }
        var counts = deliveries.counts(found.stream().map(MessageView::message).toList());
        return new MessagePage(found.stream().map(v -> new MessageView(v.message(), counts.get(v.message().id()),
                v.recipient())).toList(), lastKey);
    }

}
